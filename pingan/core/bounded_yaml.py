"""YAML from a file an operator hands us, read within fixed bounds of time and memory.

Two ways a few bytes of YAML become gigabytes are closed here: a file that never ends
(``/dev/zero``, a FIFO, a log still growing) is read up to its cap plus one byte and no
further, and aliases are counted as what they would expand into before anything is
constructed (a 260-byte "billion laughs" would otherwise take gigabytes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

import yaml

# A campaign file is about 11 KB; a calendar override a few hundred bytes.
MAX_YAML_BYTES: Final = 512 * 1024
# Nodes after expanding every alias: the seed campaign has about 1,500.
MAX_YAML_NODES: Final = 100_000


class YamlTooBig(Exception):
    """The document is over a bound; args[0] is the Chinese reason."""


def read_capped(path: Path, cap: int = MAX_YAML_BYTES) -> bytes:
    """At most cap bytes of path; YamlTooBig when there are more.

    Reads cap + 1 bytes at most, whatever the file claims to be, so an endless device or
    a pipe is refused as soon as it passes the cap. OSError propagates.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        chunks: list[bytes] = []
        got = 0
        while got <= cap:
            try:
                chunk = os.read(fd, min(1 << 16, cap + 1 - got))
            except BlockingIOError:
                # A FIFO with no writer yet: what it holds is nothing we can wait for.
                break
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    finally:
        os.close(fd)
    if got > cap:
        raise YamlTooBig(f"文件过大（超过 {cap // 1024} KB），不是有效的配置文件")
    return b"".join(chunks)


def expanded_nodes(root: yaml.Node, limit: int = MAX_YAML_NODES) -> int:
    """How many nodes the document has once every alias is expanded; YamlTooBig past limit
    or when an alias refers to the collection that contains it.

    Aliases share their anchor's node object, so each distinct node is sized once and the
    count costs time in the number of distinct nodes, not in the expansion.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    # Iterative post-order walk: a deeply nested file must not exhaust the stack here.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            if total > limit:
                raise YamlTooBig(
                    f"展开别名（*引用）后内容过多（超过 {limit} 项），不是有效的配置文件"
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise YamlTooBig("别名（*引用）引用了包含它自身的内容，形成循环")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_bounded(text: str, loader_class: type[yaml.SafeLoader]) -> Any:
    """The single document in text, constructed only after its expanded size is checked.

    Raises yaml.YAMLError for bad syntax (or more than one document) and YamlTooBig."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        expanded_nodes(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()
