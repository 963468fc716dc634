"""All tables, imported once so the metadata is complete for Alembic and tests."""

from pingan.db.assessments import AssessmentRow, AssessmentScoreRow, AwardRow, SignOffRow
from pingan.db.audit import AuditEventRow, CampaignLockRow
from pingan.db.base import Base
from pingan.db.campaigns import CampaignRow, DomainRow, GateRow, PhaseRow, WorkdayRow
from pingan.db.deliveries import DeliveryRow, EndpointRateRow
from pingan.db.links import PortalLinkRow
from pingan.db.notifications import NotificationRow
from pingan.db.obligations import ObligationRow, SubmissionFileRow, SubmissionRow
from pingan.db.units import ContactRow, DomainUnitRow, UnitRow

__all__ = [
    "AssessmentRow",
    "AssessmentScoreRow",
    "AuditEventRow",
    "AwardRow",
    "Base",
    "CampaignLockRow",
    "CampaignRow",
    "ContactRow",
    "DeliveryRow",
    "DomainRow",
    "DomainUnitRow",
    "EndpointRateRow",
    "GateRow",
    "NotificationRow",
    "ObligationRow",
    "PhaseRow",
    "PortalLinkRow",
    "SignOffRow",
    "SubmissionFileRow",
    "SubmissionRow",
    "UnitRow",
    "WorkdayRow",
]
