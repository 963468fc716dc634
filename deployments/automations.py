"""The automations ``pingan deploy`` creates for a campaign: alerts through pingan's own
channels (the ``pingan-alert/<campaign>`` deployment queues a message for the coordinator's
office in the outbox and dispatches it).

* a pingan run of the campaign ends Failed or Crashed → alert "run-failed", once per run;
* ``pingan.signoff.awaiting`` is not followed by ``pingan.signoff.given`` within
  ``signoff_hours`` → alert "signoff-waiting".

The alert deployment is tagged ``pingan-alert``, not ``pingan``: a failing alert run does
not raise an alert about itself. Parameters are Jinja templates the server fills from the
triggering event (``flow_run``, ``flow``, ``firing``).
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from prefect.events.actions import RunDeployment
from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification

from pingan.core.alerts import AlertKind
from tasks.events import SIGNOFF_AWAITING, SIGNOFF_GIVEN

DEFAULT_SIGNOFF_HOURS = 48
FAILED_STATES = {"prefect.flow-run.Failed", "prefect.flow-run.Crashed", "prefect.flow-run.TimedOut"}


def jinja(template: str) -> dict[str, str]:
    """A parameter the server renders as text. A bare ``"{{ x }}"`` would be rendered as
    JSON (``x | tojson``) and parsed again, which fails for a state message."""
    return {"__prefect_kind": "jinja", "template": template}


def failed_run_name(code: str) -> str:
    return f"pingan：{code} 运行失败告警"


def signoff_name(code: str) -> str:
    return f"pingan：{code} 签批等待过久告警"


def failed_run_automation(code: str, alert_deployment_id: UUID) -> AutomationCore:
    return AutomationCore(
        name=failed_run_name(code),
        description=f"创建活动 {code} 的流程运行失败或崩溃时，通过活动的通知渠道告知综治中心。",
        enabled=True,
        trigger=EventTrigger(
            expect=FAILED_STATES,
            match=ResourceSpecification({"prefect.resource.id": "prefect.flow-run.*"}),
            match_related=ResourceSpecification(
                {"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.{code}"}
            ),
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[
            RunDeployment(
                source="selected",
                deployment_id=alert_deployment_id,
                parameters={
                    "campaign": code,
                    "kind": AlertKind.run_failed.value,
                    "key": jinja("run-{{ flow_run.id }}"),
                    "run_name": jinja("{{ flow_run.name }}"),
                    "flow_name": jinja("{{ flow.name }}"),
                    "state": jinja("{{ flow_run.state.name }}"),
                    "reason": jinja("{{ flow_run.state.message or '' }}"),
                },
            )
        ],
    )


def signoff_automation(code: str, alert_deployment_id: UUID, hours: int) -> AutomationCore:
    return AutomationCore(
        name=signoff_name(code),
        description=(
            f"创建活动 {code} 的考核验收提交签批后 {hours} 小时仍未签批时，"
            "通过活动的通知渠道提醒综治中心。"
        ),
        enabled=True,
        trigger=EventTrigger(
            after={SIGNOFF_AWAITING},
            expect={SIGNOFF_GIVEN},
            match=ResourceSpecification({"prefect.resource.id": f"pingan.campaign.{code}"}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(hours=hours),
        ),
        actions=[
            RunDeployment(
                source="selected",
                deployment_id=alert_deployment_id,
                parameters={
                    "campaign": code,
                    "kind": AlertKind.signoff_waiting.value,
                    "key": jinja("signoff-{{ firing.id }}"),
                },
            )
        ],
    )


def campaign_automations(
    code: str, alert_deployment_id: UUID, signoff_hours: int = DEFAULT_SIGNOFF_HOURS
) -> list[AutomationCore]:
    return [
        failed_run_automation(code, alert_deployment_id),
        signoff_automation(code, alert_deployment_id, signoff_hours),
    ]
