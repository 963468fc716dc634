"""Award documents: a certificate per award and the public list, as files for printing.

A revoked award's certificate moves to ``revoked/`` so a print run of a domain's folder never
includes it; the public list shows every award, revoked ones with their reason.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from pingan.core.awards import AwardListing, issuer_name, issuers
from pingan.core.campaign import Campaign
from pingan.core.progress import Progress, nothing
from pingan.core.verification import certificate_ref, verify_url
from pingan.services.award import listing
from pingan.services.tick import CampaignHandle


@dataclass(frozen=True)
class Documents:
    certificates_dir: Path
    certificates: int
    public_list_pdf: Path
    public_list_xlsx: Path

    def as_dict(self) -> dict[str, Any]:
        return {
            "证书目录": str(self.certificates_dir),
            "本次生成证书": self.certificates,
            "公示名单（PDF）": str(self.public_list_pdf),
            "公示名单（XLSX）": str(self.public_list_xlsx),
        }


def _certificate_data(campaign: Campaign, a: AwardListing, verify_base_url: str | None) -> Any:
    """What one certificate prints: with the portal's public address, a QR code and short
    URL of its verification page; the coordinator's office remains the other way to check."""
    from pingan.adapters.render.certificate import CertificateData

    office = campaign.coordinator.office
    where = issuer_name(campaign, office.name if office else campaign.coordinator.name)
    url = (
        verify_url(verify_base_url, certificate_ref(a.id, a.verification_code))
        if verify_base_url
        else None
    )
    return CertificateData(
        campaign_name=campaign.name,
        title=a.title,
        cell_name=a.cell_name,
        cell_code=a.cell_code,
        village=a.village,
        number=a.number,
        verification_code=a.verification_code,
        issued_on=a.issued_on,
        issuers=issuers(campaign, a.domain),
        verify_hint=f"{'亦可' if url else ''}凭证书编号与验证码向{where}核验",
        verify_url=url,
    )


def certificate_path(root: Path, a: AwardListing) -> Path:
    from pingan.adapters.render.certificate import safe_stem

    sub = "revoked" if a.revoked_at is not None else a.domain
    return root / sub / f"{a.seq:04d}-{safe_stem(a.cell_code)}.pdf"


def write_documents(
    engine: Engine,
    handle: CampaignHandle,
    *,
    out_dir: Path,
    font_path: Path | None = None,
    award_ids: Sequence[int] | None = None,
    workers: int | None = None,
    progress: Progress = nothing,
    verify_base_url: str | None = None,
) -> Documents:
    """Certificates for ``award_ids`` (every valid award when None), then the public list,
    all under ``out_dir`` (the composition root's output folder of the campaign), with the
    CJK font at ``font_path`` (found on the system when None). ``verify_base_url`` is the
    portal's public base URL: each certificate then carries its verification page's QR code.

    Large runs use one process per core: rendering is CPU-bound.
    """
    certs = out_dir / "certificates"
    awards = listing(engine, handle)
    _set_aside_revoked(certs, awards)
    wanted = set(award_ids) if award_ids is not None else None
    todo: dict[str, list[AwardListing]] = defaultdict(list)
    for a in awards:
        if a.revoked_at is None and (wanted is None or a.id in wanted):
            todo[a.domain].append(a)
    written = _write_certificates(
        handle.campaign, certs, todo, _Render(workers, progress, font_path, verify_base_url)
    )
    pdf, xlsx = _write_public_list(handle.campaign, awards, out_dir, font_path)
    return Documents(certs, written, pdf, xlsx)


def _set_aside_revoked(certs: Path, awards: Iterable[AwardListing]) -> None:
    for a in awards:
        if a.revoked_at is not None:
            live = certs / a.domain / certificate_path(certs, a).name
            if live.exists():
                certificate_path(certs, a).parent.mkdir(parents=True, exist_ok=True)
                os.replace(live, certificate_path(certs, a))


@dataclass(frozen=True)
class _Render:
    workers: int | None
    progress: Progress
    font_path: Path | None
    verify_base_url: str | None


def _write_certificates(
    campaign: Campaign, certs: Path, todo: dict[str, list[AwardListing]], how: _Render
) -> int:
    from pingan.adapters.render.certificate import write_certificates

    written = 0
    total = sum(len(v) for v in todo.values())
    progress, workers = how.progress, how.workers
    progress(0, total)
    for domain, items in todo.items():
        names = {a.number: certificate_path(certs, a).name for a in items}
        n = workers if workers is not None else min(os.cpu_count() or 1, -(-len(items) // 500))
        written += len(
            write_certificates(
                (_certificate_data(campaign, a, how.verify_base_url) for a in items),
                certs / domain,
                filename=lambda d, names=names: names[d.number],  # type: ignore[misc]
                workers=max(n, 1),
                on_written=lambda k, base=written: progress(base + k, total),  # type: ignore[misc]
                font_path=how.font_path,
            )
        )
        progress(written, total)
    return written


def _write_public_list(
    campaign: Campaign, awards: Sequence[AwardListing], root: Path, font_path: Path | None
) -> tuple[Path, Path]:
    from pingan.adapters.render.public_list import (
        PublicListEntry,
        write_public_list_pdf,
        write_public_list_xlsx,
    )

    entries = [
        PublicListEntry(
            domain=a.title,
            number=a.number,
            cell_name=a.cell_name,
            cell_code=a.cell_code,
            village=a.village,
            lead_unit=issuer_name(campaign, a.lead_unit),
            issued_on=a.issued_on,
            revoked=a.revoked_at is not None,
            revoked_reason=a.revoked_reason,
        )
        for a in awards
    ]
    title = f"{campaign.short_name or campaign.name}命名单位公示名单"
    issued = ", ".join(sorted({a.issued_on.isoformat() for a in awards})) or "—"
    subtitle = f"{issuer_name(campaign, campaign.coordinator.name)}　命名日期 {issued}"
    pdf, xlsx = root / "public-list.pdf", root / "public-list.xlsx"
    root.mkdir(parents=True, exist_ok=True)
    grouping = campaign.wording.grouping
    write_public_list_pdf(title, subtitle, entries, pdf, font_path=font_path, grouping=grouping)
    write_public_list_xlsx(title, entries, xlsx, grouping)
    return pdf, xlsx
