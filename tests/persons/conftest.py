"""The seed campaign with a roster of persons: the synthetic 20-cell roster, whose cells and
villages each name one contact (name, mobile, email), with person columns added to a few.

Ticked for Monday 2017-05-22 the roster's escalated cells each get an escalation. The
first escalated cell is given three persons (a 负责人 on WeCom, a 联络员 with only a mobile,
and one with only an email) and a WeCom group robot; the second a person on DingTalk only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pingan.adapters.db.units import ContactRow
from pingan.adapters.outbox import expand
from tests.factories import Loaded, load_seed, read_csv, synth_roster, write_csv

T0 = datetime(2017, 5, 22, 2, 0)  # 10:00 in Shanghai
TICK_DAY = date(2017, 5, 22)
EXTRA = [
    "职务",
    "企业微信账号",
    "钉钉账号",
    "联系人2",
    "职务2",
    "手机2",
    "邮箱2",
    "企业微信账号2",
    "钉钉账号2",
    "联系人3姓名",
    "联系人3邮箱",
]
# Cells escalated on TICK_DAY in the 20-cell synthetic roster (seed 2017).
FIRST, SECOND = "SYN-C0000001", "SYN-C0000002"
PERSONS: dict[str, dict[str, str]] = {
    FIRST: {
        "职务": "负责人",
        "企业微信账号": "zhang.san",
        "联系人2": "李四",
        "职务2": "联络员",
        "手机2": "19911112222",
        "联系人3姓名": "王五",
        "联系人3邮箱": "wangwu@example.com",
        "wecom": "secret:first-group",
    },
    SECOND: {"钉钉账号": "ding-007", "mobile": "", "email": ""},
}
ALL_CHANNELS = ("email", "wecom", "dingtalk", "webhook", "sms", "wecom-app", "dingtalk-work")


def persons_roster(directory: Path, changes: dict[str, dict[str, str]] | None = None) -> Path:
    """The synthetic roster with the person columns, filled as ``changes`` says."""
    rows = read_csv(synth_roster(directory, 20))
    header = rows[0] + EXTRA
    out = [header]
    for row in rows[1:]:
        values = dict(zip(header, row + [""] * len(EXTRA), strict=True))
        values.update((changes or PERSONS).get(values["code"], {}))
        out.append([values[h] for h in header])
    return write_csv(directory / "persons.csv", out)


@dataclass
class PersonsDb:
    db: Loaded

    def contacts(self, code: str) -> list[Any]:
        return self.db.rows(
            "SELECT c.* FROM contact c JOIN unit u ON u.id = c.unit_id WHERE u.code = :k "
            "ORDER BY c.seq",
            k=code,
        )

    def deliveries(self, code: str | None = None) -> list[Any]:
        sql = (
            "SELECT d.*, u.code AS unit_code, c.name AS person, n.kind FROM delivery d "
            "JOIN notification n ON n.id = d.notification_id "
            "JOIN unit u ON u.id = n.recipient_unit_id "
            "LEFT JOIN contact c ON c.id = d.contact_id"
        )
        if code is None:
            return self.db.rows(sql + " ORDER BY d.id")
        return self.db.rows(sql + " WHERE u.code = :k ORDER BY d.id", k=code)

    def expand(self, channels: Any = ALL_CHANNELS, **kw: Any) -> Any:
        with Session(self.db.engine) as session:
            result = expand(session, self.db.cid, T0, channels=channels, **kw)
            session.commit()
        return result


@pytest.fixture
def pdb(engine: Engine, tmp_path: Path) -> PersonsDb:
    db = load_seed(engine, tmp_path, roster=persons_roster(tmp_path))
    db.tick(TICK_DAY)
    return PersonsDb(db)


__all__ = ["ContactRow"]
