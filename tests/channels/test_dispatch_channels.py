"""The personal channels through the outbox dispatcher, against their stand-ins: one delivery
per message, a permanent vendor refusal dead after one attempt, a transient one retried and
then delivered once, the app token fetched once across runs, one SMTP connection per run.

Until persons address deliveries (issue 13's other half), notifications are forced onto the
channel with ``channel_override`` (address "demo", a valid userid), as the demo does."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, select, text

from pingan.adapters.channels.dingtalk_work import DingTalkWork
from pingan.adapters.channels.wecom_app import WeComApp
from pingan.adapters.db.deliveries import DeliveryRow
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.session import upgrade
from pingan.adapters.outbox import dispatch
from pingan.adapters.secrets import MappingSecretResolver
from pingan.core.campaign import load_campaign
from pingan.core.campaign.channels import DingTalkWorkConfig, WeComAppConfig
from pingan.core.delivery import DispatchPolicy
from pingan.services.load import load
from pingan.services.synth import write_roster
from pingan.services.tick import CampaignHandle, open_campaign
from tests.channels.standins import dingtalk, wecom
from tests.channels.standins.dingtalk import DingTalkAPI
from tests.channels.standins.wecom import WeComAPI

T0 = datetime(2017, 5, 22, 2, 0)
N = 6


def loaded(engine: Engine, seed_config: Path, tmp_path: Path) -> CampaignHandle:
    upgrade(engine)
    roster = tmp_path / "roster.csv"
    write_roster(load_campaign(seed_config), 4, 1, roster)
    load(engine, seed_config, roster, actor="test")
    handle = open_campaign(engine, "xucheng-2017")
    with engine.begin() as conn:
        unit = conn.execute(
            text("SELECT id FROM unit WHERE campaign_id = :c ORDER BY id LIMIT 1"),
            {"c": handle.campaign_id},
        ).scalar_one()
        conn.execute(
            insert(NotificationRow),
            [
                {
                    "campaign_id": handle.campaign_id,
                    "dedupe_key": f"{handle.campaign_id}:t:{i}",
                    "kind": "bulletin",
                    "recipient_unit_id": unit,
                    "planned_on": date(2017, 5, 22),
                    "subject": f"工作通报第 {i} 号",
                    "body": "各单位：\n请于本周五前报送进展。",
                }
                for i in range(N)
            ],
        )
    return handle


def states(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(DeliveryRow.state, DeliveryRow.attempts).order_by(DeliveryRow.id)
        )
        return [(r.state, r.attempts) for r in rows]


def test_wecom_app_permanent_dead_once_transient_retried_token_fetched_once(
    engine: Engine, seed_config: Path, tmp_path: Path, wecom_api: WeComAPI
) -> None:
    handle = loaded(engine, seed_config, tmp_path)
    config = WeComAppConfig(
        corpid=wecom.CORPID, corpsecret="secret:w", agentid=1000002, base_url=wecom_api.base_url
    )
    app = WeComApp(MappingSecretResolver({"secret:w": wecom.CORPSECRET}), config, timeout=5)
    wecom_api.errcodes.extend([81013, 45009])
    policy = DispatchPolicy(rate_per_minute={}, base_backoff_s=60, jitter=0)

    def run(at: datetime) -> None:
        dispatch(
            engine,
            handle.campaign,
            handle.campaign_id,
            {"wecom-app": app},
            policy,
            channel_override="wecom-app",
            now_fn=lambda: at,
        )

    run(T0)
    first = states(engine)
    run(T0 + timedelta(hours=1))

    assert sorted(first) == sorted([("dead", 1), ("failed", 1)] + [("sent", 0)] * (N - 2))
    # The permanent refusal stayed dead after its one attempt; the transient one was retried
    # and delivered; nothing was sent twice.
    assert sorted(states(engine)) == sorted([("dead", 1), ("sent", 1)] + [("sent", 0)] * (N - 2))
    assert len(wecom_api.messages) == N - 1
    assert len({m["text"]["content"] for m in wecom_api.messages}) == N - 1  # each once
    assert wecom_api.issued == 1


def test_dingtalk_work_keeps_its_daily_limit_per_member(
    engine: Engine, seed_config: Path, tmp_path: Path, dingtalk_api: DingTalkAPI
) -> None:
    handle = loaded(engine, seed_config, tmp_path)
    config = DingTalkWorkConfig(
        appkey=dingtalk.APPKEY,
        appsecret="secret:d",
        agent_id=2233,
        base_url=dingtalk_api.base_url,
        per_day=4,
    )
    work = DingTalkWork(MappingSecretResolver({"secret:d": dingtalk.APPSECRET}), config, timeout=5)

    report = dispatch(
        engine,
        handle.campaign,
        handle.campaign_id,
        {"dingtalk-work": work},
        DispatchPolicy(rate_per_minute={}),
        channel_override="dingtalk-work",
        now_fn=lambda: T0,
    )

    assert (report.sent, report.rate_limited) == (4, N - 4)
    assert len(dingtalk_api.messages) == 4
    assert [s for s, _ in states(engine)].count("queued") == N - 4
