"""Flat flow parameters with Chinese labels in the Prefect UI (issue 16's convention).

Prefect builds a flow's parameter schema with its own ``Field(title=<name>)`` on top of an
``Annotated[..., Field(...)]``, so a title or description given there does not reach the
form. ``ui`` puts them into ``json_schema_extra`` too, which Prefect merges last.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field


def ui(title: str, description: str | None = None, **constraints: Any) -> Any:
    """``Field(title=…, description=…, **constraints)`` whose labels survive into the form."""
    labels: dict[str, Any] = {"title": title}
    if description:
        labels["description"] = description
    return Field(
        title=title, description=description, json_schema_extra=dict(labels), **constraints
    )
