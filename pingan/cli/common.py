"""What every `pingan` command module shares: consoles, common options, the error wrapper.

Kept apart from pingan.cli.app so that command modules (pingan.cli.award, …) import it without a
cycle: pingan.cli.app imports them to register their commands.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from pingan.adapters.db.locks import LeaseLost, LockHeld
from pingan.core.problems import InputError, Problem
from pingan.core.progress import Progress

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="数据库地址（SQLAlchemy URL），默认读取 PINGAN_DATABASE_URL，再默认 .pingan/pingan.db",
    ),
]
ActorOption = Annotated[
    str | None, typer.Option("--actor", help="操作人（记入审计日志），默认当前系统用户")
]


def friendly(fn: F) -> F:
    """Turn user mistakes into one line per problem and exit code 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            unreadable = _unreadable_arguments(kwargs)
            if unreadable:
                raise InputError(unreadable)
            return fn(*args, **kwargs)
        except InputError as exc:
            for p in exc.problems:
                err.print(str(p), markup=False, soft_wrap=True)
            err.print(f"共 {len(exc.problems)} 个问题，未写入任何数据。", markup=False)
            raise typer.Exit(2) from None
        except (LockHeld, LeaseLost) as exc:
            err.print(str(exc), markup=False)
            raise typer.Exit(3) from None
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "未知原因"
            err.print(f"数据库不可用：{reason}", markup=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _unreadable_arguments(kwargs: dict[str, Any]) -> list[Problem]:
    """Arguments holding bytes that are not UTF-8 (Python keeps them as lone surrogates):
    no database can store or even look them up, so they are refused before any work."""
    problems = []
    for name, value in kwargs.items():
        for item in value if isinstance(value, list) else [value]:
            text = str(item) if isinstance(item, Path) else item
            if isinstance(text, str) and any("\ud800" <= ch <= "\udfff" for ch in text):
                option = f"--{name.replace('_', '-')}"
                problems.append(
                    Problem("参数", option, "含有无法识别的字符，请确认终端使用 UTF-8 编码")
                )
                break
    return problems


def _engine(db: str | None) -> Engine:
    from pingan.adapters.db.session import make_engine
    from pingan.root import settings

    return make_engine(db or settings().resolved_database_url())


MAX_ACTOR_CHARS = 100  # audit_event.actor


def _actor(actor: str | None) -> str:
    if actor:
        if len(actor) > MAX_ACTOR_CHARS:
            raise InputError(
                [Problem("参数", "--actor", f"操作人过长（上限 {MAX_ACTOR_CHARS} 个字符）")]
            )
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _existing_file(path: Path, label: str) -> Path:
    if not path.is_file():
        raise InputError([Problem(str(path), "", f"{label}不存在或不是文件")])
    return path


def _as_of(value: str | None) -> Any:
    from pingan.core.calendar import parse_date

    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise InputError([Problem("参数", "--as-of", str(exc))]) from None


AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="按哪一天计算（YYYY-MM-DD），默认活动时区的今天")
]
CampaignArg = Annotated[str, typer.Argument(help="创建活动编码，如 xucheng-2017")]


@contextmanager
def progress_bar(label: str) -> Iterator[Progress]:
    """A progress bar on stderr (stdout stays clean for --json), gone when the work ends."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    with Bar(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
