"""Reading a campaign file: UTF-8 text, safe YAML, no duplicate keys, bounded in size and in
what its aliases expand to, and a Chinese problem with the line and column for every way
that can fail (nesting too deep included)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pingan.core.bounded_yaml import YamlTooBig, load_bounded, read_capped
from pingan.core.problems import InputError, Problem


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; a campaign file must not.

    Timestamps stay strings so that pydantic parses every date with one rule and one
    message (PyYAML raises a bare ValueError on 2017-02-30).
    """


_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "键必须是简单文本，不能是列表或映射", key_node.start_mark
            ) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"重复的键 {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def read_yaml(path: Path) -> Any:
    source = str(path)
    try:
        text = read_capped(path).decode("utf-8")
    except FileNotFoundError:
        raise InputError([Problem(source, "", "文件不存在")]) from None
    except IsADirectoryError:
        raise InputError(
            [Problem(source, "", "无法读取文件：这是一个目录，不是配置文件")]
        ) from None
    except UnicodeDecodeError:
        raise InputError([Problem(source, "", "文件不是 UTF-8 编码")]) from None
    except YamlTooBig as exc:
        raise InputError([Problem(source, "", str(exc))]) from None
    except OSError as exc:
        raise InputError([Problem(source, "", f"无法读取文件：{exc.strerror}")]) from None
    try:
        return load_bounded(text, _UniqueKeyLoader)
    except YamlTooBig as exc:
        raise InputError([Problem(source, "", str(exc))]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else ""
        what = getattr(exc, "problem", None) or str(exc)
        raise InputError([Problem(source, where, f"YAML 语法错误：{what}")]) from None
    except RecursionError:
        # PyYAML parses nesting by recursion: thousands of "[" exhaust the stack.
        raise InputError(
            [Problem(source, "", "YAML 嵌套层次过深，不是有效的创建活动配置")]
        ) from None
