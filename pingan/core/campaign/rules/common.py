"""What every rule module shares: the shape of a finding and the duplicate finder."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

# A finding: (field path, Chinese message); semantic_problems adds the file name.
Findings = Iterator[tuple[str, str]]


def duplicates(values: Iterable[str]) -> list[str]:
    """Each value that occurs more than once, in order of its second occurrence."""
    seen: set[str] = set()
    dups: list[str] = []
    for v in values:
        if v in seen and v not in dups:
            dups.append(v)
        seen.add(v)
    return dups
