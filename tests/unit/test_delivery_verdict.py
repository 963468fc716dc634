"""The one verdict on a delivery after a send: sent, retried with back-off, dead, cancelled
or put back until its rate-limit window reopens."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from pingan.core.delivery import (
    DispatchPolicy,
    NoLongerDue,
    RateLimited,
    SendFailed,
    Sent,
    Unsendable,
    Verdict,
    verdict,
)

NOW = datetime(2017, 5, 22, 2, 0)
POLICY = DispatchPolicy(max_attempts=4, base_backoff_s=60, max_backoff_s=600)


def test_a_sent_message_keeps_its_attempts_and_records_time_and_parts() -> None:
    assert verdict(Sent(parts=3), 1, POLICY, NOW) == Verdict("sent", 1, sent_at=NOW, parts=3)


@pytest.mark.parametrize(("attempts", "delay_s"), [(0, 60), (1, 120), (2, 240)])
def test_a_retryable_error_backs_off_doubling(attempts: int, delay_s: float) -> None:
    v = verdict(SendFailed("http:500: 服务器错误", retryable=True), attempts, POLICY, NOW)
    assert v == Verdict(
        "failed", attempts + 1, "http:500: 服务器错误", NOW + timedelta(seconds=delay_s)
    )


def test_back_off_is_capped() -> None:
    policy = DispatchPolicy(max_attempts=20, base_backoff_s=3600)
    v = verdict(SendFailed("timeout", retryable=True), 10, policy, NOW)
    assert v.next_attempt_at == NOW + timedelta(hours=6)


@pytest.mark.parametrize(("retry_after_s", "delay_s"), [(30, 30), (-5, 0), (10_000, 600)])
def test_the_receivers_retry_after_overrides_the_back_off_within_the_cap(
    retry_after_s: float, delay_s: float
) -> None:
    outcome = SendFailed("errcode:45009", retryable=True, retry_after_s=retry_after_s)
    v = verdict(outcome, 0, POLICY, NOW)
    assert (v.state, v.next_attempt_at) == ("failed", NOW + timedelta(seconds=delay_s))


def test_the_last_allowed_attempt_and_a_permanent_error_are_dead() -> None:
    last = verdict(SendFailed("timeout", retryable=True), 3, POLICY, NOW)
    assert last == Verdict("dead", 4, "timeout")
    permanent = verdict(SendFailed("errcode:93000", retryable=False), 0, POLICY, NOW)
    assert permanent == Verdict("dead", 1, "errcode:93000")


def test_what_was_never_tried_counts_no_attempt() -> None:
    assert verdict(Unsendable("渠道 email 未启用"), 2, POLICY, NOW) == Verdict(
        "dead", 2, "渠道 email 未启用"
    )
    assert verdict(NoLongerDue("已完成"), 0, POLICY, NOW) == Verdict("cancelled", 0, "已完成")
    later = NOW + timedelta(seconds=40)
    assert verdict(RateLimited(later), 1, POLICY, NOW) == Verdict(
        "queued", 1, next_attempt_at=later
    )
