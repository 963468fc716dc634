"""Acceptance to plaque: results, sign-off, awards, documents, notices, revocation.

Composition ring: opens sessions, holds the campaign lease, calls the set-based SQL in
pingan.adapters.db.awarding and the renderers. Prefect tasks and the CLI both call these functions.
"""

from __future__ import annotations

import os
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pingan.adapters.db.awarding import (
    AcceptanceResults,
    AwardListing,
    SignOff,
    acceptance_results,
    award_listing,
    find_award,
    grant_awards,
    latest_signoff,
    record_signoff,
    revoke_award,
)
from pingan.adapters.db.base import table, utcnow
from pingan.adapters.db.bulk import insert_or_ignore
from pingan.adapters.db.locks import campaign_lock
from pingan.adapters.db.messages import link_moment, message_common
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.session import session_scope
from pingan.adapters.db.units import UnitRow
from pingan.adapters.intake.scores import CellRef
from pingan.adapters.render.messages import render
from pingan.core.awards import codes_match
from pingan.core.campaign import Campaign
from pingan.core.links import personal_link
from pingan.core.problems import InputError, Problem
from pingan.core.progress import Progress, nothing
from pingan.services.links import link_versions
from pingan.services.tick import CampaignHandle, holder_name
from pingan.settings import Settings, get_settings

AWARD_LOCK = "award"


def award_key(settings: Settings | None = None) -> bytes:
    """PINGAN_AWARD_SECRET, else a random key kept beside the database (created once).

    Codes are stored with each award when granted, so checking a certificate needs only the
    database; the key matters for making codes nobody can compute without it.
    """
    s = settings or get_settings()
    if s.award_secret is not None:
        return s.award_secret.get_secret_value().encode()
    path = s.home / "award.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        # Two processes creating it at once: the first link wins, both then read that key.
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()


def campaign_output_dir(campaign: Campaign, settings: Settings | None = None) -> Path:
    return (settings or get_settings()).resolved_output_dir() / campaign.code


def issue_date(campaign: Campaign) -> date:
    if campaign.award.issued_on is not None:
        return campaign.award.issued_on
    plaque = [p for p in campaign.phases if p.key == "plaque"]
    return plaque[0].starts_on if plaque else campaign.phases[-1].ends_on


def issuer_name(campaign: Campaign, name: str) -> str:
    """ "街道综治委" reads as "徐城街道综治委" on a certificate seen outside the street."""
    prefix = campaign.award.prefix
    return f"{prefix}{name}" if prefix and name.startswith("街道") else name


def issuers(campaign: Campaign, domain_key: str) -> tuple[str, ...]:
    """The seed: 街道综治委将联合行业行政主管部门组织命名挂牌."""
    d = campaign.domain(domain_key)
    names = {u.code: u.name for u in campaign.units}
    lead = names.get(d.lead, d.lead)
    return (issuer_name(campaign, campaign.coordinator.name), issuer_name(campaign, lead))


# --- acceptance ----------------------------------------------------------------------------


def results(engine: Engine, handle: CampaignHandle, as_of: date) -> AcceptanceResults:
    with Session(engine) as session:
        return acceptance_results(session, handle.campaign, handle.campaign_id, as_of)


def current_signoff(engine: Engine, handle: CampaignHandle) -> SignOff | None:
    with Session(engine) as session:
        return latest_signoff(session, handle.campaign_id)


def sign_off(
    engine: Engine,
    handle: CampaignHandle,
    *,
    approver: str,
    approved: bool,
    comment: str | None,
    exclusions: Mapping[str, str],
    actor: str,
    source: str,
) -> SignOff:
    with session_scope(engine) as session:
        return record_signoff(
            session,
            handle.campaign_id,
            approver=approver,
            approved=approved,
            comment=comment,
            exclusions=exclusions,
            actor=actor,
            source=source,
        )


def parse_exclusions(items: Sequence[str]) -> dict[str, str]:
    """CLI form ``CODE:理由`` (a full-width colon is accepted too)."""
    out: dict[str, str] = {}
    problems: list[Problem] = []
    for item in items:
        code, sep, reason = item.replace("：", ":").partition(":")
        if not sep or not code.strip() or not reason.strip():
            problems.append(
                Problem("--exclude", item, "格式应为 单位编码:理由，例如 S0001:存在未整改隐患")
            )
        else:
            out[code.strip()] = reason.strip()
    if problems:
        raise InputError(problems)
    return out


# --- awards --------------------------------------------------------------------------------


@dataclass
class AwardRun:
    issued_on: date
    signoff: SignOff
    new_award_ids: list[int]
    waiting: int
    excluded: int
    notices: int
    by_domain: dict[str, int] = field(default_factory=dict)


def grant(
    engine: Engine,
    handle: CampaignHandle,
    *,
    as_of: date,
    actor: str,
    notify: bool = True,
    settings: Settings | None = None,
) -> AwardRun:
    """Number and record the awards, and plan their notices, in one transaction."""
    key = award_key(settings)
    issued_on = issue_date(handle.campaign)
    with (
        campaign_lock(engine, handle.campaign_id, AWARD_LOCK, holder_name(), wait_s=30),
        session_scope(engine) as session,
    ):
        outcome = grant_awards(
            session, handle.campaign, handle.campaign_id, key=key, issued_on=issued_on, actor=actor
        )
        listing = award_listing(session, handle.campaign, handle.campaign_id, outcome.new_award_ids)
        notices = plan_notices(session, handle, listing, as_of) if notify else 0
    by_domain: dict[str, int] = defaultdict(int)
    for a in listing:
        by_domain[a.domain] += 1
    return AwardRun(
        issued_on,
        outcome.signoff,
        outcome.new_award_ids,
        outcome.waiting,
        outcome.excluded,
        notices,
        dict(by_domain),
    )


def plan_notices(
    session: Session, handle: CampaignHandle, awards: Sequence[AwardListing], today: date
) -> int:
    """Each awarded cell hears of its own award; each lead unit gets one list per run.

    Rendered now (the outbox sends stored text as is) because the message names the award,
    which no later state changes. Dedupe keys make a re-run plan nothing twice.
    """
    if not awards:
        return 0
    campaign = handle.campaign
    override = campaign.templates_dir
    common = {
        **message_common(campaign, today),
        "coordinator": issuer_name(campaign, campaign.coordinator.name),
    }
    codes = {a.cell_code for a in awards} | {campaign.domain(a.domain).lead for a in awards}
    unit_ids: dict[str, int] = {}
    chunk = sorted(codes)
    for i in range(0, len(chunk), 5000):
        unit_ids.update(
            session.execute(
                select(UnitRow.code, UnitRow.id).where(
                    UnitRow.campaign_id == handle.campaign_id,
                    UnitRow.code.in_(chunk[i : i + 5000]),
                )
            ).all()
        )
    now = utcnow()
    settings = get_settings()
    links_on = bool(settings.portal_base_url and settings.portal_secret)
    versions = link_versions(session, unit_ids.values()) if links_on else {}
    signed_at = link_moment(today, campaign.timezone)
    rows: list[dict[str, Any]] = []
    per_lead: dict[str, list[AwardListing]] = defaultdict(list)
    for a in awards:
        d = campaign.domain(a.domain)
        per_lead[d.lead].append(a)
        ctx = {
            **common,
            "unit": {"name": a.cell_name, "code": a.cell_code},
            "title": a.title,
            "lead": issuer_name(campaign, a.lead_unit),
            "number": a.number,
            "code": a.verification_code,
            "issued_on": a.issued_on,
            "portal_link": personal_link(
                campaign.code, a.cell_code, versions[unit_ids[a.cell_code]], signed_at, settings
            )
            if links_on
            else None,
        }
        subject, body = render("award", ctx, override)
        rows.append(
            _notice(handle, f"award:{a.id}", unit_ids[a.cell_code], 0, today, subject, body, now)
        )
    for lead, items in per_lead.items():
        if lead not in unit_ids:
            continue
        ctx = {
            **common,
            "recipient": {"name": issuer_name(campaign, items[0].lead_unit)},
            "title": items[0].title,
            "count": len(items),
            "items": items[:50],
            "more": max(len(items) - 50, 0),
        }
        subject, body = render("award", ctx, override, ("lead",))
        key = f"award-lead:{lead}:{min(a.id for a in items)}"
        rows.append(_notice(handle, key, unit_ids[lead], 1, today, subject, body, now))
    stmt = insert_or_ignore(session, table(NotificationRow)).on_conflict_do_nothing(
        index_elements=["dedupe_key"]
    )
    planned = 0
    for i in range(0, len(rows), 2000):
        planned += len(rows[i : i + 2000])
        session.execute(stmt, rows[i : i + 2000])
    return planned


def _notice(
    handle: CampaignHandle,
    key: str,
    unit_id: int,
    level: int,
    today: date,
    subject: str,
    body: str,
    now: Any,
) -> dict[str, Any]:
    return {
        "campaign_id": handle.campaign_id,
        "dedupe_key": key,
        "kind": "award",
        "level": level,
        "recipient_unit_id": unit_id,
        "obligation_id": None,
        "planned_on": today,
        "subject": subject[:500],
        "body": body,
        "state": "queued",
        "channel": None,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_owner": None,
        "lease_until": None,
        "last_error": None,
        "created_at": now,
        "sent_at": None,
    }


def listing(engine: Engine, handle: CampaignHandle) -> list[AwardListing]:
    with Session(engine) as session:
        return award_listing(session, handle.campaign, handle.campaign_id)


def revoke(
    engine: Engine, handle: CampaignHandle, *, target: str, reason: str, actor: str
) -> AwardListing:
    with (
        campaign_lock(engine, handle.campaign_id, AWARD_LOCK, holder_name(), wait_s=30),
        session_scope(engine) as session,
    ):
        row = revoke_award(session, handle.campaign_id, target=target, reason=reason, actor=actor)
        return award_listing(session, handle.campaign, handle.campaign_id, [row.id])[0]


@dataclass(frozen=True)
class Verification:
    valid: bool
    message: str
    award: AwardListing | None = None


def verify(engine: Engine, handle: CampaignHandle, number: str, code: str) -> Verification:
    with Session(engine) as session:
        row = find_award(session, handle.campaign_id, number.strip())
        if row is None:
            return Verification(False, f"查无此证：编号 {number} 不存在")
        found = award_listing(session, handle.campaign, handle.campaign_id, [row.id])[0]
    if not codes_match(code, found.verification_code):
        return Verification(False, f"验证码不符：{number} 的证书可能系伪造", found)
    if found.revoked_at is not None:
        return Verification(
            False,
            f"该命名已于 {found.revoked_at:%Y-%m-%d} 撤销：{found.revoked_reason}",
            found,
        )
    return Verification(
        True, f"证书有效：{found.cell_name} 获评“{found.title}”，编号 {found.number}", found
    )


# --- on-site scoring -----------------------------------------------------------------------


def onsite_cells(engine: Engine, handle: CampaignHandle, codes: Sequence[str]) -> list[CellRef]:
    from pingan.adapters.db.assessing import active_cells
    from pingan.core.onsite import MAX_ONSITE_CELLS

    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if len(wanted) > MAX_ONSITE_CELLS:
        raise InputError(
            [
                Problem(
                    "参数",
                    "onsite_cells",
                    f"现场评分一次最多 {MAX_ONSITE_CELLS} 个单位（收到 {len(wanted)} 个），"
                    "成批评分请用 pingan assess template/import",
                )
            ]
        )
    cells = active_cells(engine, handle.campaign_id)
    unknown = [c for c in wanted if c not in cells]
    if unknown:
        raise InputError(
            [Problem("参数", "onsite_cells", f"不是在册创建单位：{c}") for c in unknown]
        )
    return [cells[c] for c in wanted]


def store_onsite(
    engine: Engine,
    handle: CampaignHandle,
    cells: Sequence[CellRef],
    values: Mapping[str, Any],
    *,
    assessed_on: date,
    actor: str,
) -> dict[str, int]:
    from pingan.adapters.db.assessing import store_scores
    from pingan.adapters.intake.scores import acceptance_window
    from pingan.core.onsite import onsite_rows
    from pingan.core.scoring import check_sheet

    start, end = acceptance_window(handle.campaign)
    rows = onsite_rows(handle.campaign, cells, values, assessed_on)
    problems = [
        Problem("现场评分表", r.where, msg)
        for r in rows
        for msg in check_sheet(handle.campaign.domain(r.domain).rubric, r.sheet)
    ]
    if not start <= assessed_on <= end:
        problems.append(
            Problem(
                "现场评分表", "assessed_on", f"评分日期 {assessed_on} 不在验收期 {start}～{end} 内"
            )
        )
    if problems:
        raise InputError(problems)
    with session_scope(engine) as session:
        return store_scores(
            session,
            handle.campaign,
            handle.campaign_id,
            rows,
            source="ui",
            actor=actor,
            file_name="现场评分表",
        )


# --- documents -----------------------------------------------------------------------------


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


def _certificate_data(campaign: Campaign, a: AwardListing) -> Any:
    from pingan.adapters.render.certificate import CertificateData

    office = campaign.coordinator.office
    where = issuer_name(campaign, office.name if office else campaign.coordinator.name)
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
        verify_hint=f"凭证书编号与验证码向{where}核验",
    )


def certificate_path(root: Path, a: AwardListing) -> Path:
    from pingan.adapters.render.certificate import safe_stem

    sub = "revoked" if a.revoked_at is not None else a.domain
    return root / sub / f"{a.seq:04d}-{safe_stem(a.cell_code)}.pdf"


def write_documents(
    engine: Engine,
    handle: CampaignHandle,
    *,
    award_ids: Sequence[int] | None = None,
    out_dir: Path | None = None,
    workers: int | None = None,
    progress: Progress = nothing,
) -> Documents:
    """Certificates for ``award_ids`` (every valid award when None), then the public list.

    A revoked award's certificate moves to ``revoked/`` so a print run of a domain's folder
    never includes it. Large runs use one process per core: rendering is CPU-bound.
    """
    from pingan.adapters.render.certificate import write_certificates
    from pingan.adapters.render.public_list import (
        PublicListEntry,
        write_public_list_pdf,
        write_public_list_xlsx,
    )

    campaign = handle.campaign
    root = out_dir or campaign_output_dir(campaign)
    certs = root / "certificates"
    awards = listing(engine, handle)
    for a in awards:
        if a.revoked_at is not None:
            live = certs / a.domain / certificate_path(certs, a).name
            if live.exists():
                certificate_path(certs, a).parent.mkdir(parents=True, exist_ok=True)
                os.replace(live, certificate_path(certs, a))
    wanted = set(award_ids) if award_ids is not None else None
    todo: dict[str, list[AwardListing]] = defaultdict(list)
    for a in awards:
        if a.revoked_at is None and (wanted is None or a.id in wanted):
            todo[a.domain].append(a)
    written = 0
    total = sum(len(v) for v in todo.values())
    progress(0, total)
    for domain, items in todo.items():
        names = {a.number: certificate_path(certs, a).name for a in items}
        n = workers if workers is not None else min(os.cpu_count() or 1, -(-len(items) // 500))
        written += len(
            write_certificates(
                (_certificate_data(campaign, a) for a in items),
                certs / domain,
                filename=lambda d, names=names: names[d.number],  # type: ignore[misc]
                workers=max(n, 1),
                on_written=lambda k, base=written: progress(base + k, total),  # type: ignore[misc]
            )
        )
        progress(written, total)
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
    write_public_list_pdf(title, subtitle, entries, pdf)
    write_public_list_xlsx(title, entries, xlsx)
    return Documents(certs, written, pdf, xlsx)
