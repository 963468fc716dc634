"""Outputs a person opens from the Prefect UI (reports, public lists, certificates): copied
to a storage location given as an fsspec URL, each with a link a browser can open.

A ``file://`` path on the worker opens in no browser that views the UI from elsewhere. The
link is, in this order: ``public_url`` + the file's key (a web server, a public MinIO/S3
bucket, or any proxy serving the location); a presigned URL when the store signs (s3:// —
valid ``link_days``); else no link, and the artifact says where the file is instead.
Credentials for a store come from the environment (AWS_* etc.), never from pingan's config.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import fsspec

LINK_SCHEMES = ("http://", "https://")


@dataclass(frozen=True)
class OutputStore:
    url: str  # fsspec URL of the location, e.g. s3://pingan-outputs/prod or file:///srv/out
    public_url: str | None = None  # http(s) base at which the location is served
    link_days: int = 7


@dataclass(frozen=True)
class Published:
    name: str
    stored: str  # where the copy is: a URL of the store, or the local file's URI
    link: str | None  # http(s), for a browser; None when none can be made

    @property
    def browsable(self) -> bool:
        return self.link is not None and self.link.startswith(LINK_SCHEMES)


def _signed(fs: fsspec.AbstractFileSystem, path: str, days: int) -> str | None:
    try:
        url = fs.sign(path, expiration=days * 86400)
    except NotImplementedError:
        return None
    return str(url) if str(url).startswith(LINK_SCHEMES) else None


def publish(store: OutputStore | None, files: Sequence[Path], key: str) -> list[Published]:
    """Copy ``files`` under ``key`` (e.g. ``xucheng-2017/reports/2017-05-22``) in the store;
    without a store, the local files, unlinked."""
    if store is None:
        return [Published(f.name, f.resolve().as_uri(), None) for f in files]
    fs, root = fsspec.core.url_to_fs(store.url)
    base = f"{root.rstrip('/')}/{key.strip('/')}"
    fs.makedirs(base, exist_ok=True)
    out: list[Published] = []
    for f in files:
        target = f"{base}/{f.name}"
        fs.put_file(str(f), target)
        if store.public_url:
            link: str | None = (
                f"{store.public_url.rstrip('/')}/{quote(key.strip('/'))}/{quote(f.name)}"
            )
        else:
            link = _signed(fs, target, store.link_days)
        out.append(Published(f.name, fs.unstrip_protocol(target), link))
    return out
