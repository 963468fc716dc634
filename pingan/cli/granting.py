"""`pingan award`: numbered awards for signed-off cells with their certificates and public
list, or one revocation. With PREFECT_API_URL set, granting runs as a pingan-award flow run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pingan.cli.common import (
    ActorOption,
    AsOfOption,
    CampaignArg,
    DbOption,
    JsonOption,
    _actor,
    _as_of,
    _engine,
    emit_json,
    err,
    friendly,
    out,
    progress_bar,
)

REVOKE_NOT_RECORDED = (
    "（撤销命名直接执行，未记入 Prefect 运行历史；如需记录，请在界面运行 pingan-award 撤销）"
)

if TYPE_CHECKING:
    from pingan.services.award import AwardRun
    from pingan.services.documents import Documents


@friendly
def award(
    campaign: CampaignArg,
    as_of: AsOfOption = None,
    notify: Annotated[bool, typer.Option("--notify/--no-notify", help="通知获评单位")] = True,
    regenerate: Annotated[bool, typer.Option("--regenerate", help="重新生成全部证书")] = False,
    revoke: Annotated[
        str | None,
        typer.Option("--revoke", metavar="证书编号或单位编码", help="撤销命名：证书编号或单位编码"),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", metavar="理由", help="撤销理由（撤销时必填）")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, metavar="进程数", help="生成证书的进程数，默认按 CPU 核数"
        ),
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
    actor: ActorOption = None,
) -> None:
    """命名挂牌：为签批通过的达标单位编号、生成证书与公示名单、安排通知；或撤销一项命名。

    设置了 PREFECT_API_URL 时命名以 pingan-award 流程运行的方式执行，记入 Prefect 运行历史
    （证书按 CPU 核数生成）。"""
    from pingan.cli.through_prefect import api_url, flow_run_json, run_flow, say_where

    if revoke is not None:
        _revoke(campaign, revoke, reason, workers, as_json, db, actor)
        return
    day = _as_of(as_of)
    run = None
    if api_url():
        from flows.award import award as award_flow

        run = run_flow(
            award_flow,
            db,
            campaign=campaign,
            as_of=day,
            notify=notify,
            regenerate=regenerate,
            actor=_actor(actor),
        )
        grant = _Grant.of_output(run.output)
    else:
        grant = _grant_here(campaign, day, notify, regenerate, workers, db, actor)
    if as_json:
        emit_json({**grant.as_json(), "flow_run": flow_run_json(run)})
    else:
        _print_grant(grant)
    say_where(run, as_json)


@dataclass(frozen=True)
class _Grant:
    """What a grant did, run here or as a flow run."""

    issued_on: date | None
    awarded: int
    by_domain: dict[str, int]
    notices: int
    waiting: int
    excluded: int
    docs: Documents

    @classmethod
    def of_run(cls, run: AwardRun, docs: Documents) -> _Grant:
        return cls(
            run.issued_on,
            len(run.new_award_ids),
            run.by_domain,
            run.notices,
            run.waiting,
            run.excluded,
            docs,
        )

    @classmethod
    def of_output(cls, o: Any) -> _Grant:
        """From the award flow's output (flows.outputs.AwardOutput), whose documents are
        Documents.as_dict(): keyed by their Chinese labels."""
        from pingan.services.documents import Documents

        d = o.documents
        docs = Documents(
            certificates_dir=Path(d["证书目录"]),
            certificates=int(d["本次生成证书"]),
            public_list_pdf=Path(d["公示名单（PDF）"]),
            public_list_xlsx=Path(d["公示名单（XLSX）"]),
        )
        return cls(o.issued_on, o.awarded, o.by_domain, o.notices, o.waiting, o.excluded, docs)

    def as_json(self) -> dict[str, Any]:
        return {
            "issued_on": self.issued_on,
            "awarded": self.awarded,
            "by_domain": self.by_domain,
            "notices": self.notices,
            "waiting": self.waiting,
            "excluded": self.excluded,
            "documents": _documents_json(self.docs),
        }


def _grant_here(
    campaign: str,
    day: date | None,
    notify: bool,
    regenerate: bool,
    workers: int | None,
    db: str | None,
    actor: str | None,
) -> _Grant:
    from pingan.root import container
    from pingan.services import award as awarding
    from pingan.services.documents import write_documents
    from pingan.services.tick import open_campaign, resolve_as_of

    engine, c = _engine(db), container()
    handle = open_campaign(engine, campaign)
    run = awarding.grant(
        engine,
        handle,
        key=c.award_key(engine, warn=lambda line: err.print(line, markup=False)),
        as_of=resolve_as_of(handle, day),
        actor=_actor(actor),
        notify=notify,
    )
    with progress_bar("生成证书（份）") as progress:
        docs = write_documents(
            engine,
            handle,
            out_dir=c.output_dir(handle.campaign.code),
            font_path=c.settings.font_path,
            award_ids=None if regenerate else run.new_award_ids,
            workers=workers,
            progress=progress,
            verify_base_url=c.settings.portal_base_url,
        )
    return _Grant.of_run(run, docs)


def _revoke(
    campaign: str,
    target: str,
    reason: str | None,
    workers: int | None,
    as_json: bool,
    db: str | None,
    actor: str | None,
) -> None:
    from pingan.cli.through_prefect import api_url, say_not_recorded
    from pingan.root import container
    from pingan.services import award as awarding
    from pingan.services.documents import write_documents
    from pingan.services.tick import open_campaign

    engine, c = _engine(db), container()
    handle = open_campaign(engine, campaign)
    a = awarding.revoke(engine, handle, target=target, reason=reason or "", actor=_actor(actor))
    docs = write_documents(
        engine,
        handle,
        out_dir=c.output_dir(handle.campaign.code),
        font_path=c.settings.font_path,
        award_ids=[],
        workers=workers,
    )
    if as_json:
        revoked = {"number": a.number, "cell": a.cell_name, "reason": a.revoked_reason}
        emit_json({"revoked": revoked, "documents": _documents_json(docs), "flow_run": None})
        return
    out.print(f"已撤销 {a.number}（{a.cell_name}）：{a.revoked_reason}", markup=False)
    out.print(f"公示名单已重新生成：{docs.public_list_pdf}", markup=False)
    if api_url():
        err.print(REVOKE_NOT_RECORDED, style="dim", markup=False, soft_wrap=True)
    else:
        say_not_recorded(as_json)


def _documents_json(docs: Documents) -> dict[str, Any]:
    return {
        "certificates": docs.certificates,
        "certificates_dir": docs.certificates_dir,
        "public_list_pdf": docs.public_list_pdf,
        "public_list_xlsx": docs.public_list_xlsx,
    }


def _print_grant(grant: _Grant) -> None:
    out.print(
        f"本次命名 {grant.awarded} 个单位，生成证书 {grant.docs.certificates} 份，"
        f"安排通知 {grant.notices} 条",
        markup=False,
    )
    if grant.waiting:
        out.print(f"另有 {grant.waiting} 个单位在签批之后才达标（复查），待下次签批", markup=False)
    if grant.excluded:
        out.print(f"签批暂缓命名 {grant.excluded} 个单位", markup=False)
    for label, value in grant.docs.as_dict().items():
        out.print(f"{label}：{value}", markup=False)
