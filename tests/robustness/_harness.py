"""What the crash and concurrency tests share: fresh databases, a seeded campaign with an
inbox of submissions, a local HTTP robot, child ticks, a Prefect server, and a snapshot of
everything a tick leaves behind (database rows, evidence store, inbox, quarantine)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text

from pingan.adapters.db.session import make_engine
from pingan.adapters.intake.collect import PROCESSED_DIR
from pingan.adapters.intake.store import EvidenceStore
from tests.conftest import PG_URL
from tests.factories import ROOT, key_sql, load_seed

AS_OF = date(2017, 11, 2)  # self-check two days late, plans long overdue: every step has work
CELLS = 24
ROBOT_ENV = "PINGAN_TEST_ROBOT"
CHILD = "tests.robustness._tick_child"


# --- databases --------------------------------------------------------------------------


class Databases:
    """Fresh empty databases on the backend of ``db_url``: SQLite files, or PostgreSQL
    schemas dropped at close."""

    def __init__(self, db_url: str, folder: Path) -> None:
        self.sqlite = db_url.startswith("sqlite")
        self.folder = folder
        self._schemas: list[str] = []

    def new(self, name: str) -> str:
        if self.sqlite:
            return f"sqlite:///{self.folder / f'{name}.db'}"
        assert PG_URL
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        self._schemas.append(schema)
        sep = "&" if "?" in PG_URL else "?"
        return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"

    def close(self) -> None:
        if not self._schemas:
            return
        admin = create_engine(PG_URL or "")
        with admin.begin() as conn:
            for schema in self._schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


# --- the campaign and its inbox ---------------------------------------------------------


def pdf(label: str) -> bytes:
    return f"%PDF-1.4\n% {label}\n%%EOF\n".encode()


def seed(url: str, folder: Path) -> None:
    """The seed campaign with CELLS cells, every unit reachable only by the local robot."""
    engine = make_engine(url)
    load_seed(engine, folder, cells=CELLS)
    with engine.begin() as conn:
        units = list(conn.execute(text("SELECT id FROM unit ORDER BY id")).scalars())
        conn.execute(text("DELETE FROM contact"))
        conn.execute(
            text("INSERT INTO contact (unit_id, webhook_ref) VALUES (:u, :w)"),
            [{"u": u, "w": f"env:{ROBOT_ENV}"} for u in units],
        )
    engine.dispose()


def fill_inbox(url: str, inbox: Path) -> None:
    """Self-check reports from half the cells (late), plans from some cells and villages,
    a copy sent twice, and files intake must refuse."""
    engine = make_engine(url)
    with engine.connect() as conn:
        cells = list(
            conn.execute(text("SELECT code FROM unit WHERE kind = 'cell' ORDER BY code")).scalars()
        )
        villages = list(
            conn.execute(
                text("SELECT code FROM unit WHERE kind = 'village' ORDER BY code")
            ).scalars()
        )
    engine.dispose()
    drops: dict[str, bytes] = {}
    for code in cells[: len(cells) // 2]:
        drops[f"self_check/{code}/自查报告.pdf"] = pdf(f"self-check {code}")
    for code in cells[len(cells) // 2 : len(cells) // 2 + 3] + villages[:2]:
        drops[f"local_plan/{code}/创建方案.pdf"] = pdf(f"plan {code}")
    first = cells[0]
    drops[f"self_check/{first}/自查报告-再次.pdf"] = pdf(f"self-check {first}")  # a duplicate
    drops[f"self_check/{cells[1]}/照片.pdf"] = b"MZ\x90\x00 not a pdf"  # bad type
    drops["self_check/NOBODY/报告.pdf"] = pdf("nobody")  # unknown unit
    drops["报告.pdf"] = pdf("loose")  # bad layout
    for rel, data in drops.items():
        path = inbox / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


# --- the robot --------------------------------------------------------------------------


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A SIGKILLed child resets its connection mid-request: expected here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Robot:
    """A local JSON webhook standing in for every unit's robot: answers 200 and counts each
    message it receives by dedupe key."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        robot = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with robot._lock:
                    robot.seen[json.loads(data)["dedupe_key"]] += 1
                body = b'{"errcode":0}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/robot"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- child ticks ------------------------------------------------------------------------


@dataclass
class Place:
    """One scenario's world: a database and its own folders."""

    url: str
    folder: Path
    prefect: dict[str, str] = field(default_factory=dict)

    @property
    def inbox(self) -> Path:
        return self.folder / "inbox"

    @property
    def evidence(self) -> Path:
        return self.folder / "evidence"

    @property
    def quarantine(self) -> Path:
        return self.folder / "quarantine"

    def env(self, robot: Robot) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PINGAN_", "PREFECT_")) or k.startswith("PINGAN_TEST_")
        }
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "PINGAN_HOME": str(self.folder / "home"),
                "PINGAN_EVIDENCE_DIR": str(self.evidence),
                "PINGAN_QUARANTINE_DIR": str(self.quarantine),
                ROBOT_ENV: robot.url,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "DO_NOT_TRACK": "1",
                "PREFECT_LOGGING_LEVEL": "WARNING",
                **self.prefect,
            }
        )
        return env

    def start(
        self, robot: Robot, *extra: str, name: str = "run", inbox: bool = True
    ) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", CHILD, "--db", self.url, "--as-of", AS_OF.isoformat()]
        if inbox:
            argv += ["--inbox", str(self.inbox)]
        log = (self.folder / f"{name}.log").open("ab")
        return subprocess.Popen(
            [*argv, *extra], cwd=ROOT, env=self.env(robot), stdout=log, stderr=subprocess.STDOUT
        )

    def run(self, robot: Robot, *extra: str, name: str = "run", timeout: float = 120) -> int:
        proc = self.start(robot, *extra, name=name)
        try:
            return proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.folder.glob("*.log"))
        )


def prepare(databases: Databases, root: Path, name: str) -> Place:
    folder = root / name
    folder.mkdir(parents=True)
    place = Place(databases.new(name.replace("-", "_")), folder)
    seed(place.url, folder)
    fill_inbox(place.url, place.inbox)
    return place


# --- a Prefect server -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def prefect_server(folder: Path) -> Iterator[dict[str, str]]:
    """A real `prefect server start` on loopback (the temporary server would cost ~10 s per
    child); yields the environment a child needs to use it."""
    port = free_port()
    home = folder / "prefect-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")} | {
        "PREFECT_HOME": str(home),
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    log = (folder / "prefect-server.log").open("wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("prefect")), "server", "start",
         "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "Prefect server did not start:\n"
                    + (folder / "prefect-server.log").read_text(errors="replace")[-3000:]
                )
            time.sleep(0.3)
        yield {"PREFECT_API_URL": api, "PREFECT_HOME": str(home)}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


# --- what a tick leaves behind ----------------------------------------------------------

_ROWS = {
    "obligations": """
        SELECT u.code, g.key, o.status, o.done_on, o.waived, o.days_overdue,
               o.escalation_level, o.notified_level
        FROM obligation o JOIN unit u ON u.id = o.unit_id JOIN gate g ON g.id = o.gate_id""",
    "submissions": """
        SELECT u.code, g.key, s.received_on, s.late, s.source, s.submitted_by, s.note,
               f.sha256, f.size, f.original_name, f.media_type
        FROM submission s JOIN submission_file f ON f.submission_id = s.id
        JOIN obligation o ON o.id = s.obligation_id
        JOIN unit u ON u.id = o.unit_id JOIN gate g ON g.id = o.gate_id""",
    "notifications": """
        SELECT {KEY}, n.kind, n.level, n.planned_on, n.state, n.subject
        FROM notification n""",
    "deliveries": """
        SELECT {KEY}, d.channel, d.address, d.state
        FROM delivery d JOIN notification n ON n.id = d.notification_id""",
}
_ROWS = {name: sql.replace("{KEY}", key_sql("n")) for name, sql in _ROWS.items()}


def _normal(value: Any) -> Any:
    # SQLite gives dates as text and booleans as 0/1; PostgreSQL gives typed values.
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _files(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _quarantine(folder: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(original path, reason code) of each complete entry; visible entries without a note."""
    complete: list[tuple[str, str]] = []
    broken: list[str] = []
    if not folder.is_dir():
        return complete, broken
    for entry in sorted(p for p in folder.glob("*/*") if p.is_dir()):
        if entry.name.startswith("."):
            continue  # being built; hidden from anyone listing the quarantine
        notes = list(entry.glob("*.reason.txt"))
        files = [p for p in entry.iterdir() if not p.name.endswith(".reason.txt")]
        if len(notes) != 1 or len(files) != 1:
            broken.append(entry.relative_to(folder).as_posix())
            continue
        fields = dict(
            line.split(":", 1) for line in notes[0].read_text("utf-8").splitlines() if ":" in line
        )
        complete.append((fields["原始相对路径"], fields["原因代码"]))
    return sorted(complete), broken


def snapshot(place: Place) -> dict[str, Any]:
    engine: Engine = make_engine(place.url)
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        for name, sql in _ROWS.items():
            out[name] = sorted(tuple(_normal(v) for v in row) for row in conn.execute(text(sql)))
        out["locks"] = conn.execute(text("SELECT count(*) FROM campaign_lock")).scalar_one()
    engine.dispose()
    store = EvidenceStore(place.evidence)
    out["evidence_temps"] = [f for f in _files(place.evidence) if Path(f).name.startswith(".")]
    # Leftovers of a killed copy are the store's own kind of temp file, which it sweeps.
    out["evidence_swept"] = store.sweep_temp(older_than_s=-1)
    out["evidence"] = _files(place.evidence)
    out["evidence_corrupt"] = [
        f for f in out["evidence"]
        if hashlib.sha256((place.evidence / f).read_bytes()).hexdigest() != Path(f).name
    ]  # fmt: skip
    waiting = [f for f in _files(place.inbox) if not f.startswith(PROCESSED_DIR + "/")]
    out["inbox_waiting"] = waiting
    out["inbox_processed"] = sorted(
        f.split("/", 2)[2] for f in _files(place.inbox) if f.startswith(PROCESSED_DIR + "/")
    )
    out["quarantine"], out["quarantine_broken"] = _quarantine(place.quarantine)
    # A temp file inside a visible entry is a half-written quarantine; an entry still
    # being built may lie hidden (a leading dot) until it is complete.
    out["quarantine_temps"] = [
        f
        for f in _files(place.quarantine)
        if not f.split("/")[1].startswith(".") and any(s.startswith(".") for s in f.split("/"))
    ]
    return out


# The state a run must reproduce exactly, and what must be empty once a run has finished.
SAME = (
    "obligations",
    "submissions",
    "notifications",
    "deliveries",
    "evidence",
    "inbox_waiting",
    "inbox_processed",
)
CLEAN = ("locks", "evidence_corrupt", "quarantine_broken", "quarantine_temps")


def differences(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    problems = []
    for key in SAME:
        if got[key] != want[key]:
            missing = [x for x in want[key] if x not in got[key]]
            extra = [x for x in got[key] if x not in want[key]]
            problems.append(f"{key}: missing {missing[:5]}, extra {extra[:5]}")
    if sorted(set(got["quarantine"])) != sorted(set(want["quarantine"])):
        problems.append(f"quarantine: {got['quarantine']} != {want['quarantine']}")
    if len(got["evidence_temps"]) != got["evidence_swept"]:
        problems.append(f"evidence store holds files it cannot sweep: {got['evidence_temps']}")
    for key in CLEAN:
        if got[key]:
            problems.append(f"{key} left behind: {got[key]}")
    pending = [d for d in got["deliveries"] if d[3] in ("queued", "leased", "failed")]
    if pending:
        problems.append(f"deliveries still pending: {pending[:5]}")
    return problems
