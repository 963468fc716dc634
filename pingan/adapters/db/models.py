"""All tables, imported once so the metadata is complete for Alembic and tests."""

from pingan.adapters.db.assessments import AssessmentRow, AssessmentScoreRow, AwardRow, SignOffRow
from pingan.adapters.db.audit import AuditEventRow, CampaignLockRow
from pingan.adapters.db.base import Base
from pingan.adapters.db.campaigns import CampaignRow, DomainRow, GateRow, PhaseRow, WorkdayRow
from pingan.adapters.db.deliveries import DeliveryRow, EndpointSlotRow
from pingan.adapters.db.links import LinkViewRow, PortalLinkRow
from pingan.adapters.db.mail import MailItemRow
from pingan.adapters.db.notifications import NotificationRow
from pingan.adapters.db.obligations import ObligationRow, SubmissionFileRow, SubmissionRow
from pingan.adapters.db.portal_usage import PortalUsageRow
from pingan.adapters.db.short_links import ShortLinkRow
from pingan.adapters.db.signoff_links import SignoffLinkRow
from pingan.adapters.db.units import ContactRow, DomainUnitRow, UnitRow

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
    "EndpointSlotRow",
    "GateRow",
    "LinkViewRow",
    "MailItemRow",
    "NotificationRow",
    "ObligationRow",
    "PhaseRow",
    "PortalLinkRow",
    "PortalUsageRow",
    "ShortLinkRow",
    "SignOffRow",
    "SignoffLinkRow",
    "SubmissionFileRow",
    "SubmissionRow",
    "UnitRow",
    "WorkdayRow",
]
