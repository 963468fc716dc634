"""How long work reports how far it got: ``progress(done, total)``, called now and then.

The CLI turns it into a rich progress bar, a Prefect task into a progress artifact; the core
and adapters only call it, so they know nothing of either.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]


def nothing(done: int, total: int) -> None:
    """The default: nobody is watching."""
