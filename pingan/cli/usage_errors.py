"""click's usage errors (missing argument, unknown option, bad value …) in Chinese.

The vendored click in typer writes its messages as English literals, so each error is
re-worded from what the exception carries: its class, its parameter and, for a value that
failed conversion, pydantic's error type. A message no rule knows is shown as
"命令行有误" with click's text, never silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from typer._click.exceptions import (
    BadParameter,
    ClickException,
    FileError,
    MissingParameter,
    NoSuchOption,
)
from typer.core import TyperArgument

# Pydantic's error types for values typed on the command line.
_PYDANTIC: dict[str, Callable[[dict[str, Any]], str]] = {
    "int_parsing": lambda c: "应为整数",
    "int_from_float": lambda c: "应为整数",
    "float_parsing": lambda c: "应为数字",
    "bool_parsing": lambda c: "应为是或否（true/false）",
    "greater_than_equal": lambda c: f"应不小于 {c.get('ge')}",
    "greater_than": lambda c: f"应大于 {c.get('gt')}",
    "less_than_equal": lambda c: f"应不大于 {c.get('le')}",
    "less_than": lambda c: f"应小于 {c.get('lt')}",
    "enum": lambda c: f"应为以下之一：{c.get('expected')}",
    "literal_error": lambda c: f"应为以下之一：{c.get('expected')}",
    "string_too_long": lambda c: f"过长（上限 {c.get('max_length')} 个字符）",
}

_TYPE_NAMES = {"int": "整数", "float": "数字", "str": "文本", "bool": "是否值", "Path": "路径"}

# Messages click raises as plain UsageError / BadOptionUsage text.
_TEXTS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"Missing command\.?"), lambda m: "缺少命令。"),
    (
        re.compile(r"No such command '(.+?)'\.?(?: Did you mean (.+)\?)?$", re.S),
        lambda m: f"没有命令 {m[1]}。" + (f"您是否要找 {_unquote(m[2])}？" if m[2] else ""),
    ),
    (
        re.compile(r"Got unexpected extra argument(?:\(s\)|s)? \((.*)\)$", re.S),
        lambda m: f"多余的参数：{m[1]}",
    ),
    (
        re.compile(r"Option '(.+?)' requires an argument\.?"),
        lambda m: f"选项 {m[1]} 需要一个值。",
    ),
    (
        re.compile(r"Option '(.+?)' requires (\d+) arguments\.?"),
        lambda m: f"选项 {m[1]} 需要 {m[2]} 个值。",
    ),
    (
        re.compile(r"Option '(.+?)' does not take a value\.?"),
        lambda m: f"选项 {m[1]} 不接受取值。",
    ),
    (
        re.compile(r"Argument '(.+?)' takes (\d+) values\.?"),
        lambda m: f"参数 {m[1]} 需要 {m[2]} 个值。",
    ),
    (
        re.compile(r"Value (.+?) is not a valid (\w+)\.?$", re.S),
        lambda m: f"{m[1]} 不是有效的{_TYPE_NAMES.get(m[2], '取值')}",
    ),
]


def _unquote(names: str) -> str:
    return "、".join(n.strip().strip("'") for n in names.split(","))


def _hint(exc: BadParameter) -> str:
    """The parameter as the user sees it: an argument's metavar, an option's flags."""
    if exc.param_hint is not None:
        hint = exc.param_hint
        return hint if isinstance(hint, str) else " / ".join(hint)
    param = exc.param
    if param is None:
        return ""
    if isinstance(param, TyperArgument):
        return param.display_name_raw
    return " / ".join(param.opts)


def _value_reason(exc: BadParameter) -> str:
    cause = exc.__cause__
    if isinstance(cause, ValidationError) and cause.errors():
        first = cause.errors()[0]
        rule = _PYDANTIC.get(first["type"])
        if rule is not None:
            return rule(dict(first.get("ctx") or {}))
    return text_in_chinese(exc.message)


def text_in_chinese(message: str) -> str:
    """click's plain message in Chinese (already Chinese text passes through)."""
    for pattern, word in _TEXTS:
        match = pattern.fullmatch(message.strip())
        if match:
            return word(match)
    if re.search(r"[\u4e00-\u9fff]", message) or not message:
        return message
    return f"命令行有误（{message}）"


def chinese_message(exc: ClickException) -> str:
    """The error line's text for ``exc``."""
    if isinstance(exc, MissingParameter):
        kind = (
            "选项"
            if (exc.param_type or getattr(exc.param, "param_type_name", "")) == ("option")
            else "参数"
        )
        return f"缺少{kind} {_hint(exc)}。"
    if isinstance(exc, NoSuchOption):
        text = f"没有选项 {exc.option_name}。"
        if exc.possibilities:
            text += f"您是否要找 {'、'.join(sorted(exc.possibilities))}？"
        return text
    if isinstance(exc, BadParameter):
        hint = _hint(exc)
        reason = _value_reason(exc)
        return f"{hint} 的取值无效：{reason}。" if hint else f"取值无效：{reason}。"
    if isinstance(exc, FileError):
        return f"无法打开文件 {exc.ui_filename}：{exc.message}"
    return text_in_chinese(exc.message)
