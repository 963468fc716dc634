"""Prefect global concurrency limits, used only where the server defines them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectNotFound


@contextmanager
def campaign_slot(name: str) -> Iterator[None]:
    """Hold one slot of the limit ``name`` if the server has it (``pingan deploy`` creates
    it); otherwise go on: the database lease already keeps ticks of a campaign apart, and
    asking Prefect for a missing limit only logs a warning in every run."""
    try:
        with get_client(sync_client=True) as client:
            client.read_global_concurrency_limit_by_name(name)
    except ObjectNotFound:
        yield
        return
    with concurrency(name, occupy=1, strict=True):
        yield
