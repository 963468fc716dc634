"""The campaign's mailbox over IMAP (IMAPS or STARTTLS): list what is waiting, fetch it in
batches bounded in bytes, and mark it handled (a keyword, or a move to a processed folder)
only when told to, i.e. after its rows are committed.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import re
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

from pingan.core.problems import InputError, Problem

DONE_KEYWORD = "$PinganDone"
IGNORED_KEYWORD = "$PinganIgnored"
# One FETCH brings at most this many bytes of mail into memory (a larger mail comes alone).
FETCH_BYTES = 32 * 1024 * 1024
_TIMEOUT_S = 60
# What a connection lost mid-session raises (imaplib.IMAP4.abort is an IMAP4.error).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (imaplib.IMAP4.error, OSError)
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_UID = re.compile(rb"UID (\d+)")
_DATE = re.compile(rb'INTERNALDATE "([^"]+)"')


@dataclass(frozen=True, slots=True)
class MailboxConfig:
    """Where the mailbox is; password is the resolved secret (never logged or shown)."""

    host: str
    port: int
    security: str  # imaps | starttls
    user: str
    password: str
    folder: str = "INBOX"
    processed_folder: str | None = None
    ca_file: str | None = None

    def __repr__(self) -> str:  # the default would print the password
        return f"MailboxConfig({self.user}@{self.host}:{self.port}/{self.folder})"


@dataclass(frozen=True, slots=True)
class Envelope:
    uid: int
    size: int
    internal_date: datetime | None


@dataclass(frozen=True, slots=True)
class Fetched:
    """One mail: the whole message, or only its header when it is over max_message_bytes."""

    envelope: Envelope
    raw: bytes
    complete: bool


class Mailbox:
    """An open, selected mailbox. Use as a context manager."""

    def __init__(self, config: MailboxConfig) -> None:
        self._config = config
        self._conn = _connect(config)
        self._select(config.folder)

    def __enter__(self) -> Mailbox:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            self._conn.logout()

    def waiting(self) -> list[Envelope]:
        """Every mail not yet handled nor ignored, oldest first (UIDs are small: 2,000
        mails list as a few kilobytes)."""
        uids = self._uid_search("UNKEYWORD", DONE_KEYWORD, "UNKEYWORD", IGNORED_KEYWORD)
        envelopes: list[Envelope] = []
        for start in range(0, len(uids), 1000):
            envelopes.extend(self._envelopes(uids[start : start + 1000]))
        return sorted(envelopes, key=lambda e: e.uid)

    def fetch(self, envelopes: Sequence[Envelope], max_message_bytes: int) -> Iterator[Fetched]:
        """The mails, a few at a time so at most FETCH_BYTES are held; a mail over
        max_message_bytes comes as its header only."""
        for group, whole in _groups(envelopes, max_message_bytes):
            part = "BODY.PEEK[]" if whole else "BODY.PEEK[HEADER]"
            by_uid = {e.uid: e for e in group}
            for uid, raw in self._fetch(",".join(str(e.uid) for e in group), part):
                if uid in by_uid:
                    yield Fetched(by_uid[uid], raw, whole)

    def mark(self, uids: Sequence[int], *, ignored: bool = False) -> None:
        """Mark mails handled: moved to the processed folder, or flagged with a keyword."""
        if not uids:
            return
        uid_set = ",".join(str(u) for u in uids)
        target = self._config.processed_folder
        if target is not None and not ignored:
            self._ensure_folder(target)
            if b"MOVE" in b" ".join(c.encode() for c in self._conn.capabilities):
                self._ok(self._conn.uid("MOVE", uid_set, _quote(target)), "MOVE")
                return
            self._ok(self._conn.uid("COPY", uid_set, _quote(target)), "COPY")
            self._ok(self._conn.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
            self._ok(self._conn.expunge(), "EXPUNGE")
            return
        keyword = IGNORED_KEYWORD if ignored else DONE_KEYWORD
        self._ok(self._conn.uid("STORE", uid_set, "+FLAGS.SILENT", f"({keyword})"), "STORE")

    # --- internals ------------------------------------------------------------------------

    def _select(self, folder: str) -> None:
        typ, data = self._conn.select(_quote(folder))
        if typ != "OK":
            raise _problem(f"无法打开邮箱文件夹「{folder}」（{_text(data)}）")

    def _ensure_folder(self, folder: str) -> None:
        typ, data = self._conn.list('""', _quote(folder))
        if typ == "OK" and any(d for d in data if d):
            return
        self._conn.create(_quote(folder))

    def _uid_search(self, *criteria: str) -> list[int]:
        typ, data = self._conn.uid("SEARCH", *criteria)
        self._ok((typ, data), "SEARCH")
        return [int(u) for u in (data[0] or b"").split()]

    def _envelopes(self, uids: Sequence[int]) -> Iterator[Envelope]:
        if not uids:
            return
        typ, data = self._conn.uid(
            "FETCH", ",".join(str(u) for u in uids), "(UID RFC822.SIZE INTERNALDATE)"
        )
        self._ok((typ, data), "FETCH")
        for line in data:
            text = line if isinstance(line, bytes) else b""
            uid, size = _UID.search(text), _SIZE.search(text)
            if uid and size:
                when = _DATE.search(text)
                yield Envelope(int(uid.group(1)), int(size.group(1)), _internal(when))

    def _fetch(self, uid_set: str, part: str) -> Iterator[tuple[int, bytes]]:
        typ, data = self._conn.uid("FETCH", uid_set, f"(UID {part})")
        self._ok((typ, data), "FETCH")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                uid = _UID.search(item[0])
                if uid is not None:
                    yield int(uid.group(1)), item[1]
        data.clear()

    def _ok(self, result: tuple[str, list[object]], what: str) -> None:
        typ, data = result
        if typ != "OK":
            raise _problem(f"邮件服务器拒绝了 {what} 命令（{_text(data)}）")


def _connect(config: MailboxConfig) -> imaplib.IMAP4:
    context = ssl.create_default_context(cafile=config.ca_file)
    where = f"{config.host}:{config.port}"
    try:
        conn: imaplib.IMAP4
        if config.security == "imaps":
            conn = imaplib.IMAP4_SSL(
                config.host, config.port, ssl_context=context, timeout=_TIMEOUT_S
            )
        else:
            conn = imaplib.IMAP4(config.host, config.port, timeout=_TIMEOUT_S)
            conn.starttls(context)
    except ssl.SSLError as exc:
        raise _problem(
            f"与邮件服务器 {where} 建立加密连接失败（{exc.reason or '证书无效'}）"
        ) from None
    except (OSError, imaplib.IMAP4.error) as exc:
        raise _problem(f"无法连接邮件服务器 {where}（{_reason(exc)}）") from None
    try:
        conn.login(config.user, config.password)
    except UnicodeEncodeError:
        raise _problem(
            f"邮箱 {config.user} 的账号或授权码含有非 ASCII 字符，IMAP 无法登录"
        ) from None
    except imaplib.IMAP4.error:
        # The server's text may quote what was sent; say only what failed.
        raise _problem(
            f"邮箱 {config.user} 登录失败：请核对账号，并确认密钥中是邮箱的授权码（客户端专用密码）"
        ) from None
    _identify(conn)
    return conn


def _identify(conn: imaplib.IMAP4) -> None:
    """Send the IMAP ID (RFC 2971) where the server offers it: 163 mailboxes refuse SELECT
    ("Unsafe Login") from a client that has not identified itself."""
    if "ID" not in conn.capabilities:
        return
    imaplib.Commands.setdefault("ID", ("AUTH", "SELECTED"))
    typ, _ = conn._simple_command("ID", '("name" "pingan" "version" "1")')
    if typ == "OK":
        conn._untagged_response(typ, [], "ID")


def _groups(
    envelopes: Sequence[Envelope], max_message_bytes: int
) -> Iterator[tuple[list[Envelope], bool]]:
    """Runs of whole mails totalling at most FETCH_BYTES, and oversize mails one by one."""
    group: list[Envelope] = []
    held = 0
    for e in envelopes:
        if e.size > max_message_bytes:
            yield [e], False
            continue
        if group and held + e.size > FETCH_BYTES:
            yield group, True
            group, held = [], 0
        group.append(e)
        held += e.size
    if group:
        yield group, True


def _internal(found: re.Match[bytes] | None) -> datetime | None:
    if found is None:
        return None
    try:
        return datetime.strptime(found.group(1).decode(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def _quote(folder: str) -> str:
    encoded = _utf7(folder)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _utf7(text: str) -> str:
    """IMAP's modified UTF-7 (RFC 3501 5.1.3), for Chinese folder names such as 已处理."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in text:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def _text(data: object) -> str:
    if isinstance(data, list) and data and isinstance(data[0], bytes):
        return data[0].decode("utf-8", "replace")[:200]
    return "无详细信息"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


def _problem(message: str) -> InputError:
    return InputError([Problem("mail_intake", "", message)])
