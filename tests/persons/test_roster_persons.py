"""Roster columns for persons: up to three per unit, with role and app accounts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from pingan.adapters.intake.roster import read_roster
from pingan.services.load import load
from tests.factories import SEED_CONFIG, load_seed, seed_campaign
from tests.persons.conftest import FIRST, PERSONS, SECOND, PersonsDb, persons_roster


def test_a_unit_gets_one_contact_row_per_person_in_roster_order(pdb: PersonsDb) -> None:
    rows = [
        (c.seq, c.name, c.role, c.mobile, c.email, c.wecom_userid, c.wecom_ref)
        for c in pdb.contacts(FIRST)
    ]
    assert rows == [
        (
            1,
            "袁秀飞",
            "负责人",
            "19900000004",
            "syn-c0000001@example.com",
            "zhang.san",
            "secret:first-group",
        ),
        (2, "李四", "联络员", "19911112222", None, None, None),
        (3, "王五", None, None, "wangwu@example.com", None, None),
    ]


def test_a_dingtalk_account_is_kept_on_its_person(pdb: PersonsDb) -> None:
    (only,) = pdb.contacts(SECOND)
    assert (only.dingtalk_userid, only.mobile, only.email) == ("ding-007", None, None)


def test_loading_the_same_roster_again_rewrites_no_contact(engine: Engine, tmp_path: Path) -> None:
    roster = persons_roster(tmp_path)
    load_seed(engine, tmp_path, roster=roster)
    again = load(engine, SEED_CONFIG, roster, actor="test")
    assert again.summary.contacts_written == 0


def test_changing_a_second_person_replaces_only_that_units_contacts(
    engine: Engine, tmp_path: Path
) -> None:
    db = load_seed(engine, tmp_path, roster=persons_roster(tmp_path))
    other = tmp_path / "other"
    other.mkdir()
    changed = {**PERSONS, FIRST: {**PERSONS[FIRST], "联系人2": "赵六", "手机2": "19933334444"}}
    result = load(engine, SEED_CONFIG, persons_roster(other, changed), actor="test")
    assert result.summary.contacts_written == 1
    names = [r.name for r in PersonsDb(db).contacts(FIRST)]
    assert names == ["袁秀飞", "赵六", "王五"]


def test_a_bad_userid_names_its_row_and_numbered_column(tmp_path: Path) -> None:
    roster = persons_roster(tmp_path, {FIRST: {"企业微信账号2": "张 三"}})
    result = read_roster(roster, seed_campaign())
    assert [(p.where, p.message) for p in result.problems] == [
        (
            "第 5 行 企业微信账号2",
            "企业微信账号2 '张 三' 格式不符：只能由字母、数字和 _ . @ - 组成，最长 64 个字符",
        )
    ]
