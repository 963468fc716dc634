"""Render notification texts from Jinja2 templates (Simplified Chinese). Pure: data in, text out.

The first line of a rendered template is the subject, the rest the body.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from pingan.adapters.shipped import shipped

DEFAULT_TEMPLATES = shipped("templates")
WEEKDAYS = "一二三四五六日"


def cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def weekday(d: date) -> str:
    return f"星期{WEEKDAYS[d.weekday()]}"


@lru_cache(maxsize=8)
def environment(override_dir: str | None = None) -> Environment:
    loaders = [FileSystemLoader(override_dir)] if override_dir else []
    loaders.append(FileSystemLoader(str(DEFAULT_TEMPLATES)))
    env = Environment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=False,  # plain text for robots and mail; HTML bodies are escaped elsewhere
        keep_trailing_newline=False,
        trim_blocks=False,
    )
    env.filters["cn_date"] = cn_date
    env.filters["weekday"] = weekday
    return env


def render(
    kind: str,
    context: Mapping[str, Any],
    override_dir: str | None = None,
    variants: tuple[str, ...] = (),
) -> tuple[str, str]:
    """Render the most specific template that exists: ``{kind}-{variant}.txt.j2`` for each
    variant in order (e.g. ``escalation-3``, ``escalation-coordinator``), then ``{kind}``."""
    names = [f"{kind}-{v}.txt.j2" for v in variants] + [f"{kind}.txt.j2"]
    text = environment(override_dir).select_template(names).render(**context)
    subject, _, body = text.strip().partition("\n")
    return subject.strip(), body.strip() + "\n"
