"""The award number format fills in for every domain and fits its column; the award is not
dated before the campaign starts."""

from __future__ import annotations

from pingan.core.campaign.model import Campaign
from pingan.core.campaign.rules.common import Findings, duplicates

# award.number: the formatted certificate number.
_AWARD_NUMBER_CHARS = 100


def number_format(c: Campaign) -> Findings:
    try:
        c.award.number_format.format(prefix="", title="平安校园", year=2017, seq=1, domain="x")
    except KeyError as exc:
        yield (
            "award.number_format",
            f"编号格式含未知占位符 {{{exc.args[0]}}}（可用：prefix、title、year、seq、domain）",
        )
    except Exception as exc:  # any format error is the user's: report it, never raise
        yield "award.number_format", f"编号格式无效（{exc or type(exc).__name__}）"
    else:
        yield from _numbers_fit(c)


def _numbers_fit(c: Campaign) -> Findings:
    for i, d in enumerate(c.domains):
        try:
            number = c.award.number_format.format(
                prefix=c.award.prefix, title=d.title, year=9999, seq=999_999, domain=d.name
            )
        except Exception as exc:  # "{title[5]}" on a shorter title, say
            yield f"domains[{i}].title", f"编号格式无法用于本领域（{exc or type(exc).__name__}）"
            continue
        if len(number) > _AWARD_NUMBER_CHARS:
            yield (
                "award.number_format",
                f"领域 {d.key} 的命名编号可长达 {len(number)} 个字符，"
                f"超过上限 {_AWARD_NUMBER_CHARS} 个（请缩短前缀或 domains[{i}].title）",
            )


def issued_on(c: Campaign) -> Findings:
    if c.award.issued_on is not None and c.award.issued_on < c.starts_on:
        yield "award.issued_on", f"命名日期 {c.award.issued_on} 早于活动开始日期 {c.starts_on}"


def ceremonies(c: Campaign) -> Findings:
    """Ceremonies are dated within reach of the campaign and name real domains."""
    domain_keys = {d.key for d in c.domains}
    issued = c.award.issued_on
    for i, cer in enumerate(c.award.ceremonies):
        where = f"award.ceremonies[{i}]"
        said = f"“{cer.name}”日期 {cer.held_on} 早于"
        if cer.held_on < c.starts_on:
            yield f"{where}.held_on", f"{said}活动开始日期 {c.starts_on}"
        elif issued is not None and cer.held_on < issued:
            yield f"{where}.held_on", f"{said}命名日期 {issued}"
        for j, dk in enumerate(cer.domains or []):
            if dk not in domain_keys:
                yield f"{where}.domains[{j}]", f"领域 {dk} 不存在"
    for dup in duplicates(f"{x.name}@{x.held_on}" for x in c.award.ceremonies):
        yield "award.ceremonies", f"仪式 {dup.replace('@', '（')}）重复"
