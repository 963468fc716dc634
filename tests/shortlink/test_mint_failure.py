"""Short links that cannot be stored now hold back only the batch's SMS, for a later run."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from pingan.adapters.outbox import freeze
from pingan.adapters.outbox.freeze import SHORT_LINK_PENDING


def test_a_failed_mint_marks_each_sms_link_pending(monkeypatch: pytest.MonkeyPatch) -> None:
    def busy(*_: Any, **__: Any) -> dict[int, str | None]:
        raise OperationalError("INSERT INTO short_link …", {}, Exception("database is locked"))

    monkeypatch.setattr(freeze, "short_signed_links", busy)
    run: Any = SimpleNamespace(engine=create_engine("sqlite://"), campaign=None, portal=None)

    assert freeze._short_links(run, [7, 9]) == {7: SHORT_LINK_PENDING, 9: SHORT_LINK_PENDING}
