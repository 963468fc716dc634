"""Write a validated campaign and roster into the database, set-based and in one transaction.

Upserts are keyed by codes and keys, so loading the same files twice changes nothing; a unit
that leaves the roster is withdrawn, never deleted, and every change is written to the audit log.
"""

from pingan.adapters.db.load.campaign import campaign_id_by_code, upsert_campaign
from pingan.adapters.db.load.materialise import materialise_obligations
from pingan.adapters.db.load.roster import apply_roster
from pingan.adapters.db.load.summary import LoadSummary

__all__ = [
    "LoadSummary",
    "apply_roster",
    "campaign_id_by_code",
    "materialise_obligations",
    "upsert_campaign",
]
