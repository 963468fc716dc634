"""Synthetic rosters for demos, load tests and fixtures.

The output looks like a real 徐城 roster (villages and communities, schools, clinics,
households, firms) but is unmistakably fake: codes start with SYN-, every mobile is 1990xxxxxxx
and every email is at the reserved example.com domain, so a synthetic roster can never reach a
real person even if it is loaded into a live deployment by mistake.

Rows are produced lazily and the village table is computed from its index rather than stored,
so memory stays flat whatever the size requested.
"""

from __future__ import annotations

import contextlib
import csv
import os
import uuid
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from random import Random

from pingan.adapters.intake.roster.columns import KIND_LABELS, LABELS
from pingan.core.campaign import Campaign, Domain
from pingan.core.problems import InputError, Problem
from pingan.services.synth_names import (
    MAKERS,
    VILLAGE_FIRST,
    VILLAGE_SECOND,
    Rnd,
    cn_number,
    generic_maker,
    person,
)

HEADER: tuple[str, ...] = (
    "code",
    "name",
    "type",
    "domain",
    "village",
    "category",
    "contact",
    "mobile",
    "email",
    "wecom",
    "dingtalk",
    "webhook",
)

# Share of cells by the kind of thing a domain certifies, roughly as in a Jiangsu township.
_KIND_WEIGHTS = {"family": 70, "enterprise": 18, "school": 8, "clinic": 4}
_KIND_CATEGORIES = {
    "family": {"家庭"},
    "school": {"中学", "小学", "幼儿园", "学校", "高中", "初中"},
    "clinic": {"卫生院", "卫生室", "诊所", "民营医院", "医院"},
    "enterprise": {"企业", "公司", "工厂"},
}
# Mix of categories inside a domain; anything not listed is as likely as the default.
_CATEGORY_WEIGHTS = {
    "小学": 5,
    "幼儿园": 4,
    "中学": 2,
    "卫生室": 12,
    "诊所": 6,
    "民营医院": 1,
    "卫生院": 1,
}
_DEFAULT_CATEGORY_WEIGHT = 3


# Only row indices feed the mobile, so ten million rows exhaust the space and then wrap.
_MOBILE_SPACE = 10_000_000
_NO_EMAIL_SHARE = 0.05
_DEFAULT_TOWN = "城关"


@dataclass(frozen=True)
class SynthSummary:
    villages: int
    cells: int
    per_domain: dict[str, int]
    path: Path


def village_count(cells: int) -> int:
    # Half-up rather than round(): banker's rounding would make 250 and 350 cells differ oddly.
    return max(3, (cells + 50) // 100)


def domain_counts(campaign: Campaign, cells: int) -> dict[str, int]:
    """Cells per domain key; exact (largest remainder) so the parts always sum to ``cells``."""
    if cells < 0:
        raise ValueError(f"cells must not be negative (got {cells})")
    kinds = [_domain_kind(d) for d in campaign.domains]
    weights = (
        [1] * len(kinds) if None in kinds else [_KIND_WEIGHTS[k] for k in kinds if k is not None]
    )
    total = sum(weights)
    counts = [cells * w // total for w in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(cells * weights[i] % total), i))
    for i in by_remainder[: cells - sum(counts)]:
        counts[i] += 1
    return {d.key: n for d, n in zip(campaign.domains, counts, strict=True)}


def synth_roster(campaign: Campaign, cells: int, seed: int) -> Iterator[tuple[str, ...]]:
    """Yield the header, then every village, then every cell (grouped by domain, then village)."""
    per_domain = domain_counts(campaign, cells)
    rng = Random(seed)
    villages = _Villages(village_count(cells), rng, group_suffixes(campaign.wording.grouping))
    town = _town(campaign)

    yield HEADER
    yield from _village_rows(villages, rng.random)
    yield from _cell_rows(campaign, per_domain, villages, rng.random, town)


def _village_rows(villages: _Villages, rnd: Rnd) -> Iterator[tuple[str, ...]]:
    for k in range(villages.count):
        row = k + 1
        code = villages.code(k)
        lower = code.lower()
        yield (
            code,
            villages.name(k),
            "village",
            "",
            "",
            "",
            person(rnd),
            f"1990{row % _MOBILE_SPACE:07d}",
            f"{lower}@example.com",
            f"secret:wecom-{lower}",
            # Only some villages have a DingTalk robot, so fallbacks between channels get used.
            f"secret:dingtalk-{lower}" if (k + 1) % 10 == 0 else "",
            "",
        )


def _cell_rows(
    campaign: Campaign,
    per_domain: dict[str, int],
    villages: _Villages,
    rnd: Rnd,
    town: str,
) -> Iterator[tuple[str, ...]]:
    # Mobiles number every row of the file, villages first.
    row = villages.count
    number = 0
    for domain in campaign.domains:
        n = per_domain[domain.key]
        categories = domain.cell_categories
        cum = list(
            accumulate(_CATEGORY_WEIGHTS.get(c, _DEFAULT_CATEGORY_WEIGHT) for c in categories)
        )
        last = cum[-1]
        makers = [MAKERS.get(c, generic_maker(c)) for c in categories]
        key = domain.key
        village_k = -1
        village_code = village_name = ""
        for i in range(n):
            row += 1
            number += 1
            k = i * villages.count // n
            if k != village_k:
                village_k, village_code, village_name = k, villages.code(k), villages.name(k)
            c = bisect(cum, rnd() * last) if len(categories) > 1 else 0
            name, contact = makers[c](rnd, village_name, town)
            yield (
                f"SYN-C{number:07d}",
                name,
                "cell",
                key,
                village_code,
                categories[c],
                contact,
                f"1990{row % _MOBILE_SPACE:07d}",
                "" if rnd() < _NO_EMAIL_SHARE else f"syn-c{number:07d}@example.com",
                "",
                "",
                "",
            )


def in_chinese(campaign: Campaign, rows: Iterator[tuple[str, ...]]) -> Iterator[tuple[str, ...]]:
    """The rows as a clerk types them: Chinese headers, types and domain names."""
    names = {d.key: d.name for d in campaign.domains}
    next(rows, None)
    yield LABELS
    for row in rows:
        yield (row[0], row[1], KIND_LABELS[row[2]], names.get(row[3], ""), *row[4:])  # type: ignore[index]


def write_roster(
    campaign: Campaign, cells: int, seed: int, out: Path, *, chinese: bool = False
) -> SynthSummary:
    """Write the roster as UTF-8 CSV; readers never see a half-written file. In Chinese
    (headers, types, domain names) the file has a BOM, so that Excel opens it as UTF-8."""
    per_domain = domain_counts(campaign, cells)
    rows = synth_roster(campaign, cells, seed)
    # Same directory so os.replace is a rename; not mkstemp, whose 0600 would outlive the rename.
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        encoding = "utf-8-sig" if chinese else "utf-8"
        with tmp.open("x", encoding=encoding, newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(
                in_chinese(campaign, rows) if chinese else rows
            )
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except OSError as exc:
        # A folder that is a file, a read-only place, a full disk: the operator's to fix.
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        reason = exc.strerror or type(exc).__name__
        raise InputError([Problem(str(out), "", f"无法写入名册文件：{reason}")]) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return SynthSummary(village_count(cells), cells, per_domain, out)


# --- villages ----------------------------------------------------------------------------


class _Villages:
    """Village k's name is derived from k, so even 100,000 villages cost no memory."""

    def __init__(self, count: int, rng: Random, suffixes: tuple[str, str] = ("村", "社区")) -> None:
        self.count = count
        self._suffixes = suffixes
        bases = [a + b for a in VILLAGE_FIRST for b in VILLAGE_SECOND]
        rng.shuffle(bases)
        self._bases = bases

    def code(self, k: int) -> str:
        return f"SYN-V{k + 1:05d}"

    def name(self, k: int) -> str:
        position = k % len(self._bases)
        # Once every base is used, numbering (东岭二村) keeps names unique; the suffix follows
        # the position so 东岭村 is followed by 东岭二村, never by 东岭二社区.
        again = k // len(self._bases)
        suffix = self._suffixes[1 if position % 10 in (2, 5, 8) else 0]
        return self._bases[position] + (cn_number(again + 1) if again else "") + suffix


def _domain_kind(domain: Domain) -> str | None:
    categories = set(domain.cell_categories)
    for kind, known in _KIND_CATEGORIES.items():
        if categories & known:
            return kind
    return None


def _town(campaign: Campaign) -> str:
    # Firms and middle schools carry the organisation's short name (徐城, 滨江).
    return campaign.wording.short or _DEFAULT_TOWN


def group_suffixes(grouping: str) -> tuple[str, str]:
    """The suffixes synthetic groups are named with: (most, every third)."""
    if "村" in grouping or "社区" in grouping:
        return "村", "社区"
    if "镇" in grouping or "乡" in grouping:
        return "镇", "乡"
    return "片区", "片区"
