"""What every `pingan` command module shares: consoles, common options, the error wrapper.

Kept apart from pingan.cli.app so that command modules (pingan.cli.award, …) import it without a
cycle: pingan.cli.app imports them to register their commands.
"""

from __future__ import annotations

import errno
import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
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
        metavar="数据库地址",
        help="数据库地址（SQLAlchemy URL），默认读取 PINGAN_DATABASE_URL，再默认 .pingan/pingan.db",
    ),
]
ActorOption = Annotated[
    str | None,
    typer.Option("--actor", metavar="姓名", help="操作人（记入审计日志），默认当前系统用户"),
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
        except OSError as exc:  # a file or folder the command could not read or write
            if exc.errno == errno.EPIPE:
                raise  # stdout closed early (`… --json | head`): typer exits quietly
            err.print(f"文件操作失败：{os_reason(exc)}。", markup=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


_ERRNO_REASONS = {
    errno.EACCES: "权限不足",
    errno.EPERM: "不允许此操作",
    errno.ENOSPC: "磁盘空间不足",
    errno.EDQUOT: "超出磁盘配额",
    errno.EROFS: "文件系统为只读",
    errno.ENOENT: "路径不存在",
    errno.ENOTDIR: "路径中有一段不是文件夹",
    errno.EISDIR: "这是一个文件夹",
    errno.EEXIST: "已存在同名文件",
    errno.ENAMETOOLONG: "路径过长",
}


def os_reason(exc: OSError) -> str:
    """“PATH：原因” in Chinese for an OSError, naming the path when it has one."""
    reason = _ERRNO_REASONS.get(exc.errno or -1) or (exc.strerror or type(exc).__name__)
    return f"{exc.filename}：{reason}" if exc.filename else reason


def _writable_dir(path: Path, option: str) -> Path:
    """``path`` as an output folder: refused up front unless it is, or can be made, a folder
    this process may write into (nothing is created here)."""
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        reason = "路径中有一段不是文件夹"
    elif not os.access(probe, os.W_OK | os.X_OK):
        reason = "没有写入权限"
    else:
        return path
    raise InputError([Problem(option, "", f"输出目录 {path} 无法写入：{reason}（{probe}）")])


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


def _engine(db: str | None, *, create: bool = False) -> Engine:
    """The database of ``--db`` (else the settings'). Only commands that set a campaign up
    (``load``, ``db upgrade``, ``portal``) pass ``create``: every other one works on a
    loaded campaign, so a missing database is a mistake to report, not one to create."""
    from pingan.adapters.db.session import make_engine
    from pingan.root import settings

    url = db or settings().resolved_database_url()
    if not create:
        _require_existing_database(url)
    return make_engine(url)


def _require_existing_database(url: str) -> None:
    """A SQLite database named by ``url`` must already exist (checked before anything is
    opened, so nothing is created); other databases are servers, and exist or refuse."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return  # make_engine says what is wrong with it
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    if parsed.query.get("uri"):
        return  # a file: URI carries its own open mode
    path = Path(parsed.database)
    if not path.is_file():
        raise InputError(
            [
                Problem(
                    "--db",
                    "",
                    f"数据库文件 {path} 不存在：请先执行 pingan load 导入创建活动，"
                    "或检查 --db 与 PINGAN_DATABASE_URL（本命令不会新建数据库）",
                )
            ]
        )


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


def _as_of(value: str | None, option: str = "--as-of") -> Any:
    from pingan.core.calendar import parse_date

    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise InputError([Problem("参数", option, str(exc))]) from None


AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of", metavar="YYYY-MM-DD", help="按哪一天计算（YYYY-MM-DD），默认活动时区的今天"
    ),
]
CampaignArg = Annotated[
    str, typer.Argument(metavar="活动编码", help="创建活动编码，如 xucheng-2017")
]
ConfigArg = Annotated[Path, typer.Argument(metavar="配置文件", help="创建活动配置文件（YAML）")]
JsonOption = Annotated[bool, typer.Option("--json", help="以 JSON 输出（供脚本读取）")]


def _json_default(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value).__name__)


def emit_json(data: Any) -> None:
    """What a command reports, as JSON on stdout: one style for every ``--json``
    (UTF-8 text, two-space indent, dates as ISO strings)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default))
    sys.stdout.write("\n")


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
