"""Robot keys and signing secrets are used on the wire and appear nowhere else: not in the
database, Prefect logs or artifacts, our logs, or error texts — also when a robot rejects
the key and echoes it back in its error message."""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from sqlalchemy import MetaData, select

from flows.tick import tick
from pingan import root
from pingan.adapters.db.session import make_engine
from pingan.core.campaign import load_campaign
from pingan.services.load import load
from pingan.services.synth import write_roster

GOOD_KEY = "SEKRIT-WECOM-KEY-7f3a9c"
BAD_KEY = "SEKRIT-WECOM-KEY-bad-0d1e"
DING_TOKEN = "SEKRIT-DING-TOKEN-5b2c"
DING_SECRET = "SEKRITdingSIGNsecret81"
SECRETS = (GOOD_KEY, BAD_KEY, DING_TOKEN, DING_SECRET)


class RobotSink(BaseHTTPRequestHandler):
    seen: list[str] = []  # noqa: RUF012 - one list per server class, reset by the fixture

    def do_POST(self) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        key = (query.get("key") or query.get("access_token") or [""])[0]
        RobotSink.seen.append(key)
        if key == BAD_KEY:
            # Real robots echo the offending key back; the channel must not pass it on.
            reply = {"errcode": 93000, "errmsg": f"invalid webhook url, key={key}"}
        else:
            reply = {"errcode": 0, "errmsg": "ok"}
        body = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def robots() -> Iterator[str]:
    RobotSink.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), RobotSink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _forms(secret: str) -> set[str]:
    return {secret, urllib.parse.quote(secret), urllib.parse.quote_plus(secret)}


def _database_text(db_url: str) -> str:
    engine = make_engine(db_url)
    meta = MetaData()
    meta.reflect(engine)
    parts = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            parts += [repr(tuple(row)) for row in conn.execute(select(table))]
    engine.dispose()
    return "\n".join(parts)


def _prefect_text() -> str:
    with get_client(sync_client=True) as client:
        logs = [log.message for log in client.read_logs()]
        artifacts = [json.dumps(a.data, ensure_ascii=False) for a in client.read_artifacts()]
        runs = [json.dumps(r.parameters, default=str) for r in client.read_flow_runs()]
    return "\n".join(logs + artifacts + runs)


def test_robot_secrets_appear_only_on_the_wire(
    pingan_env: str,
    seed_config: Path,
    tmp_path: Path,
    robots: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    roster = tmp_path / "roster.csv"
    write_roster(load_campaign(seed_config), 30, 5, roster)
    text = roster.read_text(encoding="utf-8")
    # Three villages: two good WeCom robots and one with a key the robot rejects;
    # every village also reports to a signed DingTalk robot.
    refs = sorted({line.split(",")[9] for line in text.splitlines()[1:] if line.split(",")[9]})
    assert len(refs) == 3
    for ref, key in zip(refs, (GOOD_KEY, GOOD_KEY, BAD_KEY), strict=True):
        monkeypatch.setenv("PINGAN_SECRET_" + ref.split(":", 1)[1].upper().replace("-", "_"), key)
    lines = text.splitlines()
    header, rows = lines[0], lines[1:]
    patched = []
    for line in rows:
        cols = line.split(",")
        if cols[2] == "village":
            cols[10] = "secret:ding-street"
        patched.append(",".join(cols))
    roster.write_text("\n".join([header, *patched]) + "\n", encoding="utf-8")
    monkeypatch.setenv("PINGAN_SECRET_DING_STREET", f"{DING_TOKEN}|{DING_SECRET}")
    monkeypatch.setenv("PINGAN_WECOM_BASE_URL", robots)
    monkeypatch.setenv("PINGAN_DINGTALK_BASE_URL", robots)
    root.reset()
    engine = make_engine(pingan_env)
    load(engine, seed_config, roster)
    engine.dispose()

    caplog.set_level(logging.DEBUG)
    # 05-22: the villages' local plans are overdue, so they get escalations on every robot.
    result = tick(campaign="xucheng-2017", as_of=date(2017, 5, 22), respect_quiet_hours=False)

    delivery = result.delivery
    assert delivery is not None and delivery.sent > 0 and delivery.dead > 0
    assert {GOOD_KEY, BAD_KEY, DING_TOKEN} <= set(RobotSink.seen)  # the secrets were used
    everywhere = "\n".join(
        [
            _database_text(pingan_env),
            _prefect_text(),
            caplog.text,
            capsys.readouterr().out,
            capsys.readouterr().err,
            json.dumps(result, ensure_ascii=False, default=str),
        ]
    )
    for secret in SECRETS:
        for form in _forms(secret):
            assert form not in everywhere, f"secret leaked: {secret[:12]}…"
