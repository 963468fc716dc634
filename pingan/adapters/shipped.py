"""Files shipped with the package: the seed campaigns, calendar overrides and message
templates under ``config/``.

In a checkout ``pingan/config`` is a link to the repository's ``config/`` (where docs and
operators edit them); a wheel carries real copies. Both are read through
``importlib.resources``, so an installed ``pingan`` finds them wherever it lives.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def shipped(*parts: str) -> Path:
    """The shipped file or folder ``config/<parts…>`` as a filesystem path."""
    resource = files("pingan").joinpath("config", *parts)
    if not isinstance(resource, Path):  # a zipped install: never produced by pip
        raise RuntimeError(f"pingan 的随包文件不在文件系统中：{resource}")
    return resource.resolve()
