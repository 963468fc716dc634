"""The standing check "no traceback appears anywhere in the suite's CLI outputs" (issue 17).

tests/conftest.py applies it to every test through an autouse fixture:

- every ``CliRunner.invoke`` (typer's and click's) fails the test when the output or stderr
  contains "Traceback", or when the command ended in an exception other than SystemExit
  (CliRunner catches it, so it would otherwise only show as exit code 1);
- every ``subprocess.run`` of ``python -m pingan...`` (or a ``pingan`` executable) whose
  output was captured fails the test when that output contains "Traceback".

A test that checks the exception object itself (``result.exception``) opts out of the
second rule with ``@pytest.mark.cli_exception``; a traceback in the output still fails.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click.testing
import pytest
import typer.testing

MARKER = "cli_exception"
MARKER_HELP = (
    f"{MARKER}: the test checks an unexpected exception of a CliRunner result itself; "
    "the no-traceback check still fails on a traceback in the output"
)
TRACEBACK = "Traceback"
_SHOWN = 4000  # characters of the offending output shown in the failure

_inside_invoke: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "inside_invoke", default=False
)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else ""


def _fail(what: str, output: str) -> None:
    pytest.fail(
        f"{what} 的输出中出现了 Traceback（命令行不得向用户显示堆栈）：\n{output[-_SHOWN:]}",
        pytrace=False,
    )


def _result_outputs(result: click.testing.Result) -> str:
    parts = [result.output]
    with contextlib.suppress(ValueError):  # click < 8.2 mixing stderr into output
        parts.append(result.stderr)
    return "\n".join(parts)


def check_cli_result(result: click.testing.Result, *, allow_exception: bool = False) -> None:
    """Fail the test on a traceback in a CliRunner result, or on an unexpected exception."""
    output = _result_outputs(result)
    if TRACEBACK in output:
        _fail("CliRunner.invoke", output)
    exc = result.exception
    if exc is None or isinstance(exc, SystemExit) or allow_exception:
        return
    pytest.fail(
        f"CliRunner.invoke 以未处理的异常结束（用户会看到堆栈）：{type(exc).__name__}: {exc}\n"
        f"输出：\n{output[-_SHOWN:]}\n"
        f"（若测试本身要检查该异常，请加 @pytest.mark.{MARKER}）",
        pytrace=False,
    )


def runs_pingan(args: object) -> bool:
    """Whether a subprocess argv runs the pingan CLI (python -m pingan..., or pingan)."""
    if isinstance(args, str | bytes | Path):
        return False  # a shell string or a bare program: not how the suite runs pingan
    argv = [str(a) for a in args] if isinstance(args, Sequence) else []
    if argv and Path(argv[0]).name == "pingan":
        return True
    return any(a == "-m" and b.startswith("pingan") for a, b in itertools.pairwise(argv))


def check_completed(done: subprocess.CompletedProcess[Any]) -> None:
    """Fail the test when a captured run of the pingan CLI printed a traceback."""
    if not runs_pingan(done.args):
        return
    output = "\n".join((_text(done.stdout), _text(done.stderr)))
    if TRACEBACK in output:
        _fail(" ".join(str(a) for a in done.args), output)


def _checked_invoke(original: Callable[..., Any], allow_exception: bool) -> Callable[..., Any]:
    @functools.wraps(original)
    def invoke(self: click.testing.CliRunner, *args: Any, **kwargs: Any) -> Any:
        if _inside_invoke.get():  # typer's invoke calls click's: check once, outermost
            return original(self, *args, **kwargs)
        token = _inside_invoke.set(True)
        try:
            result = original(self, *args, **kwargs)
        finally:
            _inside_invoke.reset(token)
        check_cli_result(result, allow_exception=allow_exception)
        return result

    return invoke


def _checked_run(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def run(*args: Any, **kwargs: Any) -> Any:
        done = original(*args, **kwargs)
        check_completed(done)
        return done

    return run


def no_traceback_check(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrap the CLI runners and subprocess.run for the duration of one test."""
    allow = request.node.get_closest_marker(MARKER) is not None
    for runner in (click.testing.CliRunner, typer.testing.CliRunner):
        if "invoke" in vars(runner):
            monkeypatch.setattr(runner, "invoke", _checked_invoke(vars(runner)["invoke"], allow))
    monkeypatch.setattr(subprocess, "run", _checked_run(subprocess.run))
