"""Campaign schema and loader.

A campaign YAML (see docs/campaign.md) is parsed into a frozen pydantic model (model), then
checked for cross-references and dates (rules). Every problem is collected and reported with
the file and the field path (errors, yaml_file, load); nothing here raises a bare pydantic or
YAML traceback at a user.
"""

from __future__ import annotations

from pingan.core.campaign.codes import artifact_slug, is_code, is_key
from pingan.core.campaign.load import (
    calendar_problems,
    load_campaign,
    overrides_dir,
    parse_campaign,
    working_calendar,
)
from pingan.core.campaign.model import (
    AwardConfig,
    CalendarConfig,
    Campaign,
    Ceremony,
    Coordinator,
    Criterion,
    Deduction,
    Domain,
    DomainTargets,
    Escalation,
    Gate,
    LadderStep,
    MailIntake,
    NotificationSettings,
    Office,
    Phase,
    Reminders,
    Rubric,
    ScheduleConfig,
    Targets,
    UnitDef,
    Veto,
)
from pingan.core.campaign.organisation import Organisation, Wording
from pingan.core.campaign.rules import semantic_problems
from pingan.core.campaign.yaml_file import read_yaml

__all__ = [
    "AwardConfig",
    "CalendarConfig",
    "Campaign",
    "Ceremony",
    "Coordinator",
    "Criterion",
    "Deduction",
    "Domain",
    "DomainTargets",
    "Escalation",
    "Gate",
    "LadderStep",
    "MailIntake",
    "NotificationSettings",
    "Office",
    "Organisation",
    "Phase",
    "Reminders",
    "Rubric",
    "ScheduleConfig",
    "Targets",
    "UnitDef",
    "Veto",
    "Wording",
    "artifact_slug",
    "calendar_problems",
    "is_code",
    "is_key",
    "load_campaign",
    "overrides_dir",
    "parse_campaign",
    "read_yaml",
    "semantic_problems",
    "working_calendar",
]
