"""Certificates written to disk: one file, one file per cell (optionally in worker
processes), or one bundle for printing."""

from __future__ import annotations

import io
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pingan.adapters.render.certificate.data import (
    CertificateData,
    check_filename,
    default_filename,
)
from pingan.adapters.render.certificate.drawing import (
    certificate_bytes,
    draw_certificate,
    draw_frame,
)
from pingan.adapters.render.certificate.layout import PAGE_HEIGHT, PAGE_WIDTH
from pingan.adapters.render.files import atomic_output, fsync_dir
from pingan.adapters.render.fonts import cjk_font_path, register_reportlab_font
from pingan.adapters.render.pdf import binary_streams, new_canvas

Named = tuple[str, CertificateData]
OnWritten = Callable[[int], None]


@dataclass(frozen=True)
class _Target:
    """Where a batch goes and how: the same for every batch of one call."""

    out_dir: Path
    fsync: bool
    font_path: Path


def write_certificate(data: CertificateData, path: Path, *, font_path: Path | None = None) -> None:
    """Write one certificate to `path` atomically (``font_path``: the configured font)."""
    blob = certificate_bytes(data, font=register_reportlab_font(font_path))
    with atomic_output(path) as fh:
        fh.write(blob)


def write_certificates(
    items: Iterable[CertificateData],
    out_dir: Path,
    *,
    filename: Callable[[CertificateData], str] | None = None,
    fsync: bool = False,
    workers: int = 1,
    batch_size: int = 200,
    on_written: OnWritten | None = None,
    font_path: Path | None = None,
) -> list[Path]:
    """One PDF per certificate under out_dir, in input order (default name: the cell code).

    Each file is renamed into place only when complete, so a crash leaves whole files and no
    temporaries. Files are not fsynced one by one unless asked: under load that costs ~10 ms a
    file (15 minutes for 90,000) and certificates are reproducible byte for byte, so a rerun
    restores any lost to a power cut. A name produced twice in one call is an error rather
    than a silent overwrite. `workers` > 1 renders batches in that many spawned processes
    (spawn, not fork: the caller may be a threaded Prefect worker; the calling script needs
    the usual `if __name__ == "__main__":` guard); items are consumed lazily, so memory stays
    flat. ``font_path`` is the configured font (None: discover one).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs = _named(items, filename or default_filename)
    if workers <= 1:
        written = _write_serial(pairs, out_dir, fsync, batch_size, on_written, font_path)
    else:
        target = _Target(out_dir, fsync, cjk_font_path(font_path))
        written = _write_parallel(pairs, target, workers, batch_size, on_written)
    if fsync:
        fsync_dir(out_dir)
    return written


def _named(
    items: Iterable[CertificateData], name_of: Callable[[CertificateData], str]
) -> Iterator[Named]:
    seen: set[str] = set()
    for data in items:
        name = check_filename(name_of(data))
        if name in seen:
            raise ValueError(f"two certificates would both be written to {name!r}")
        seen.add(name)
        yield name, data


def _write_serial(
    pairs: Iterator[Named],
    out_dir: Path,
    fsync: bool,
    batch_size: int,
    on_written: OnWritten | None,
    font_path: Path | None,
) -> list[Path]:
    written: list[Path] = []
    font = register_reportlab_font(font_path)
    for name, data in pairs:
        path = out_dir / name
        blob = certificate_bytes(data, font=font)
        with atomic_output(path, fsync=fsync) as fh:
            fh.write(blob)
        written.append(path)
        if on_written is not None and len(written) % batch_size == 0:
            on_written(len(written))
    return written


def _write_parallel(
    pairs: Iterator[Named],
    target: _Target,
    workers: int,
    batch_size: int,
    on_written: OnWritten | None,
) -> list[Path]:
    written: list[Path] = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers,
        mp_context=ctx,
        initializer=register_reportlab_font,
        initargs=(target.font_path,),
    ) as pool:
        pending: deque[Future[list[Path]]] = deque()
        for batch in _batches(pairs, batch_size):
            pending.append(pool.submit(_write_batch, batch, target))
            if len(pending) >= 2 * workers:  # bounded look-ahead keeps memory flat
                written.extend(pending.popleft().result())
                if on_written is not None:
                    on_written(len(written))
        while pending:
            written.extend(pending.popleft().result())
            if on_written is not None:
                on_written(len(written))
    return written


def _batches(pairs: Iterator[Named], size: int) -> Iterator[list[Named]]:
    batch: list[Named] = []
    for pair in pairs:
        batch.append(pair)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_batch(batch: list[Named], target: _Target) -> list[Path]:
    font = register_reportlab_font(target.font_path)
    paths = []
    for name, data in batch:
        path = target.out_dir / name
        blob = certificate_bytes(data, font=font)
        with atomic_output(path, fsync=target.fsync) as fh:
            fh.write(blob)
        paths.append(path)
    return paths


def write_certificate_bundle(
    items: Iterable[CertificateData], path: Path, *, font_path: Path | None = None
) -> int:
    """All certificates as pages of one PDF, for printing; returns the page count.

    The frame is drawn once as a form XObject and the font subsets are shared, so a bundle
    is much smaller and faster than the same certificates as separate files. reportlab holds
    every page in memory until it saves (about 9 KB a page), so bundle per village or per
    domain — tens of thousands of pages at most — rather than a whole campaign.
    """
    font = register_reportlab_font(font_path)
    buf = io.BytesIO()
    pages = 0
    with binary_streams():
        c = new_canvas(buf, font, (PAGE_WIDTH, PAGE_HEIGHT), "荣誉证书")
        c.beginForm("pingan-frame")
        draw_frame(c)
        c.endForm()
        for data in items:
            draw_certificate(c, font, data, frame="pingan-frame")
            c.showPage()
            pages += 1
        c.save()
    with atomic_output(path) as fh:
        fh.write(buf.getvalue())
    return pages
