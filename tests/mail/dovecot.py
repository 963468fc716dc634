"""A private Dovecot IMAP server on 127.0.0.1 for tests and the benchmark.

Own dovecot.conf, base_dir and maildir in a temporary folder, a passwd-file user, TLS
required with a self-signed certificate made here (IMAPS and STARTTLS listeners), on free
ports. Mail is delivered by IMAP APPEND.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import imaplib
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DOVECOT = shutil.which("dovecot") or (
    "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
)
MISSING = "未安装 dovecot（Debian 包 dovecot-imapd），邮件报送测试已跳过；.ci/run 会安装"
USER = "zzzx@mail.test"
PASSWORD = "imap-test-password-4810148"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


@dataclass
class Dovecot:
    root: Path
    imaps_port: int = 0
    imap_port: int = 0

    @property
    def ca_file(self) -> Path:
        return self.root / "cert.pem"

    def start(self) -> Dovecot:
        # pingan narrows the process umask to 077 once it has built a container (its state is
        # private); Dovecot's unprivileged auth and login processes must still read this folder.
        umask = os.umask(0o022)
        try:
            return self._start()
        finally:
            os.umask(umask)

    def _start(self) -> Dovecot:
        assert DOVECOT is not None, MISSING
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        cert, key = _certificate(self.root)
        mail = self.root / "mail"
        mail.mkdir()
        uid, gid, me = _mail_owner()
        os.chown(mail, uid, gid)
        (self.root / "passwd").write_text(
            f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{mail}/zzzx\n", encoding="utf-8"
        )
        self.imaps_port, self.imap_port = _free_port(), _free_port()
        (self.root / "dovecot.conf").write_text(_config(self, cert, key, me), encoding="utf-8")
        subprocess.run([DOVECOT, "-c", str(self.root / "dovecot.conf")], check=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, imaplib.IMAP4.error, ssl.SSLError):
                self.client().logout()
                return self
            time.sleep(0.1)
        raise RuntimeError("dovecot did not start: " + self.log())

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    @classmethod
    def fresh(cls) -> Dovecot:
        """A server in its own folder under the system temp dir: as root, Dovecot's users
        must be able to reach it, which pytest's private tmp_path does not allow."""
        return cls(Path(tempfile.mkdtemp(prefix="pingan-dovecot-")))

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def stop(self) -> None:
        pid_file = self.root / "run" / "master.pid"
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError):
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(pid, 0)
                time.sleep(0.05)

    def client(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        conn = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=context, timeout=30)
        conn.login(USER, PASSWORD)
        return conn

    def append(self, raw: bytes, *, folder: str = "INBOX", when: dt.datetime | None = None) -> None:
        self.append_many([raw], folder=folder, when=when)

    def append_many(
        self, raws: list[bytes], *, folder: str = "INBOX", when: dt.datetime | None = None
    ) -> None:
        conn = self.client()
        try:
            stamp = imaplib.Time2Internaldate(when) if when is not None else None
            for raw in raws:
                typ, data = conn.append(folder, None, stamp, raw)
                assert typ == "OK", data
        finally:
            conn.logout()

    def flags(self, folder: str = "INBOX") -> dict[int, str]:
        """UID → the FLAGS text of each mail in folder."""
        conn = self.client()
        try:
            typ, _ = conn.select(folder)
            if typ != "OK":
                return {}
            typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS)")
            out: dict[int, str] = {}
            for line in data:
                if isinstance(line, bytes) and b"UID" in line:
                    text = line.decode()
                    uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                    out[uid] = text
            return out
        finally:
            conn.logout()


def _mail_owner() -> tuple[int, int, str]:
    """Dovecot refuses mail access as root: as root, mail belongs to the dovecot user."""
    if os.geteuid() == 0:
        entry = pwd.getpwnam("dovecot")
        return entry.pw_uid, entry.pw_gid, "root"
    me = pwd.getpwuid(os.geteuid())
    return me.pw_uid, me.pw_gid, me.pw_name


def _config(server: Dovecot, cert: Path, key: Path, me: str) -> str:
    r = server.root
    users = "" if me == "root" else f"default_login_user = {me}\ndefault_internal_user = {me}\n"
    return f"""
base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
auth_mechanisms = plain
mail_location = maildir:~/Maildir
first_valid_uid = 1
imap_id_log = *
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {r}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {server.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {server.imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


@contextlib.contextmanager
def running() -> Iterator[Dovecot]:
    """A fresh private server for one test, removed after it (skipped without Dovecot)."""
    if DOVECOT is None:
        pytest.skip(MISSING)
    server = Dovecot.fresh()
    try:
        yield server.start()
    finally:
        server.remove()
