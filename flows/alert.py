"""告警: what the shipped automations run (deployments/automations.py) when a pingan run
fails or a sign-off waits too long — an alert to the coordinator's office through pingan's
own channels, queued in the outbox and delivered at once."""

from __future__ import annotations

from typing import Annotated

from prefect import flow

from flows.outputs import DeliveryOutput
from flows.params import CampaignParam, zh
from pingan.core.alerts import AlertFacts, AlertKind
from tasks.alerting import queue_alert_task
from tasks.delivery import dispatch_task
from tasks.policy import FLOW_TIMEOUT_S, run_namer
from tasks.ticking import open_campaign_task


@flow(
    name="pingan-alert",
    description="告警：流程运行失败或验收签批等待过久时，通过活动自己的通知渠道告知综治中心。",
    flow_run_name=run_namer("告警", dated=False),
    timeout_seconds=FLOW_TIMEOUT_S,
)
def alert(
    campaign: CampaignParam,
    kind: Annotated[AlertKind, zh("告警类型", "run-failed 运行失败；signoff-waiting 等待签批")],
    key: Annotated[str, zh("告警键", "同一键只告警一次，如失败运行的编号", min_length=1)],
    run_name: Annotated[str, zh("运行名称", "由自动化填写")] = "",
    flow_name: Annotated[str, zh("流程名称", "由自动化填写")] = "",
    state: Annotated[str, zh("运行状态", "由自动化填写")] = "",
    reason: Annotated[str, zh("原因", "由自动化填写")] = "",
    link: Annotated[str, zh("运行链接", "Prefect 界面中该运行的地址")] = "",
    respect_quiet_hours: Annotated[
        bool, zh("遵守免打扰时段与非工作日", "默认关闭：告警立即发送")
    ] = False,
) -> DeliveryOutput:
    handle, _ = open_campaign_task(campaign, None)
    facts = AlertFacts(kind, key, run_name, flow_name, state, reason, None, link)
    queue_alert_task(handle, facts)
    return DeliveryOutput.of(dispatch_task(handle, respect_quiet_hours))
