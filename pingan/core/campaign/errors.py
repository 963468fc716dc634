"""Problems in Chinese: pydantic's validation errors and stray control characters, each
reported at its field path (``domains[0].rubric.total``)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from pingan.core.problems import Problem

_PYDANTIC_MESSAGES = {
    "missing": "缺少必填字段",
    "extra_forbidden": "未知字段（请检查拼写）",
    "date_from_datetime_parsing": "日期格式错误，应为 YYYY-MM-DD",
    "date_parsing": "日期格式错误，应为 YYYY-MM-DD",
    "date_type": "应为日期（YYYY-MM-DD）",
    "string_type": "应为文本",
    "string_pattern_mismatch": "格式不符：编码只能由字母、数字、- 和 _ 组成（键须小写字母开头）",
    "string_too_short": "不能为空",
    "string_too_long": "过长（最多 {max_length} 个字符）",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "greater_than": "必须大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "literal_error": "取值无效，可选值：{expected}",
    "list_type": "应为列表",
    "too_short": "至少需要 {min_length} 项",
    "model_type": "应为一组字段（映射）",
    "model_attributes_type": "应为一组字段（映射）",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "value_error": "{error}",
    "dict_type": "应为一组字段（映射）",
    "string_unicode": "含有无法识别的字符",
    "int_parsing_size": "数值过大",
    "less_than": "必须小于 {lt}",
    "too_long": "最多 {max_length} 项",
    "date_from_datetime_inexact": "应为日期（YYYY-MM-DD），不含时间",
    "recursion_loop": "结构嵌套过深",
}
# Pydantic's own text is English; a type not mapped above still gets a Chinese line.
_PYDANTIC_FALLBACK = "取值无效"
# A pasted paragraph or a long list is not worth echoing whole.
MAX_SHOWN = 80


def field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def pydantic_problems(source: str, err: ValidationError) -> list[Problem]:
    problems = []
    for e in err.errors():
        template = _PYDANTIC_MESSAGES.get(e["type"], _PYDANTIC_FALLBACK)
        ctx = {k: v for k, v in (e.get("ctx") or {}).items()}
        try:
            message = template.format(**ctx)
        except (KeyError, IndexError):
            message = _PYDANTIC_FALLBACK
        if e["type"] not in ("missing",) and "input" in e and not isinstance(e["input"], dict):
            shown = repr(e["input"])
            if len(shown) > MAX_SHOWN:
                shown = shown[:MAX_SHOWN] + "…"
            message += f"（当前值：{shown}）"
        problems.append(Problem(source, field_path(tuple(e["loc"])), message))
    return problems


# C0 controls but tab and line breaks, and DEL: PostgreSQL refuses NUL in text and JSON,
# and the rest only hide or garble what a name shows.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_problems(data: Any, source: str) -> list[Problem]:
    problems: list[Problem] = []
    pending: list[tuple[Any, tuple[int | str, ...]]] = [(data, ())]
    while pending:  # not recursive: the YAML may nest as deep as the parser allowed
        node, loc = pending.pop()
        if isinstance(node, dict):
            pending.extend((v, (*loc, str(k))) for k, v in node.items())
        elif isinstance(node, list):
            pending.extend((v, (*loc, i)) for i, v in enumerate(node))
        elif isinstance(node, str) and _CONTROL.search(node):
            problems.append(
                Problem(source, field_path(loc), "含有控制字符（如 NUL），请删除后重试")
            )
    return sorted(problems, key=lambda p: p.where)
