"""The suite's standing check (tests/_no_traceback.py, installed by tests/conftest.py): a
CLI output with a traceback, or a CLI run ending in an unexpected exception, fails the test."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
import typer
from click.testing import CliRunner as ClickRunner
from typer.testing import CliRunner as TyperRunner

Failed = pytest.fail.Exception

typer_app = typer.Typer()


@typer_app.command()
def crash() -> None:
    raise RuntimeError("boom")


@click.command()
def click_crash() -> None:
    raise KeyError("boom")


@click.command()
def prints_a_traceback() -> None:
    click.echo('Traceback (most recent call last):\n  File "x.py", line 1')


@click.command()
def refuses() -> None:
    click.echo("错误：文件不存在", err=True)
    raise SystemExit(2)


def test_a_typer_command_ending_in_an_exception_fails_the_test() -> None:
    with pytest.raises(Failed, match="RuntimeError: boom"):
        TyperRunner().invoke(typer_app, [])


def test_a_click_command_ending_in_an_exception_fails_the_test() -> None:
    with pytest.raises(Failed, match="KeyError"):
        ClickRunner().invoke(click_crash, [])


def test_a_traceback_printed_by_a_command_fails_the_test() -> None:
    with pytest.raises(Failed, match="Traceback"):
        ClickRunner().invoke(prints_a_traceback, [])


def test_a_clear_refusal_with_an_exit_code_passes() -> None:
    result = ClickRunner().invoke(refuses, [])

    assert result.exit_code == 2


@pytest.mark.cli_exception
def test_the_marker_lets_a_test_look_at_the_exception_itself() -> None:
    result = TyperRunner().invoke(typer_app, [])

    assert isinstance(result.exception, RuntimeError)


def test_a_captured_run_of_pingan_that_prints_a_traceback_fails_the_test() -> None:
    # "-m pingan.cli.app" after -c is only the script's argv: the check goes by the argv,
    # so this stands in for a pingan run without needing pingan to crash.
    script = "import sys; print('Traceback (most recent call last):', file=sys.stderr)"
    argv = [sys.executable, "-c", script, "-m", "pingan.cli.app"]
    with pytest.raises(Failed, match="Traceback"):
        subprocess.run(argv, capture_output=True, text=True, check=False)


def test_a_captured_run_of_another_program_is_left_alone() -> None:
    script = "import sys; print('Traceback (most recent call last):', file=sys.stderr)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)

    assert b"Traceback" in done.stderr
