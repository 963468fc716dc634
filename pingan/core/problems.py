"""Problems found in user input, reported one line each and never as a traceback."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place in one input file."""

    source: str  # file name (or "数据库", "参数")
    where: str  # field path, "第 12 行 手机" …; empty when the whole file is at fault
    message: str

    def __str__(self) -> str:
        return (
            f"{self.source}: {self.where}: {self.message}"
            if self.where
            else (f"{self.source}: {self.message}")
        )


class InputError(Exception):
    """Bad user input: carries every problem so the CLI can print them all at once."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
