"""Cross-field rules a schema alone cannot express, one module per section of the campaign.

Every rule yields (field path, Chinese message); semantic_problems runs them in a fixed
order, so a file's problems are always listed the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from pingan.core.campaign.model import Campaign
from pingan.core.campaign.rules import (
    award,
    channels,
    domains,
    gates,
    identity,
    ladder,
    mail,
    organisation,
    phases,
    targets,
)
from pingan.core.campaign.rules.common import Findings
from pingan.core.problems import Problem

_RULES: tuple[Callable[[Campaign], Findings], ...] = (
    identity.timezone,
    identity.unique,
    organisation.organisation,
    domains.domains,
    targets.rates,
    phases.phases,
    gates.gates,
    gates.deliverables,
    targets.coverage_gate,
    ladder.ladder,
    ladder.reminders,
    award.number_format,
    award.issued_on,
    award.ceremonies,
    mail.mail_intake,
    channels.channels,
)


def semantic_problems(c: Campaign, source: str) -> list[Problem]:
    """Every cross-field problem of the campaign, reported against ``source``."""
    return [Problem(source, where, message) for rule in _RULES for where, message in rule(c)]
