"""Child process of the SIGKILL test: one mail intake run, killed by the parent mid-batch."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from pingan.adapters.db.session import make_engine
from pingan.adapters.secrets import MappingSecretResolver
from pingan.services.collect import IntakeStores
from pingan.services.mail import collect_mailbox
from pingan.services.tick import open_campaign
from tests.mail.conftest import SECRET_REF
from tests.mail.dovecot import PASSWORD


def main(db_url: str, folder: str) -> None:
    engine = make_engine(db_url)
    root = Path(folder)
    stores = IntakeStores(root / "evidence", root / "quarantine", 20 * 1024 * 1024)
    handle = open_campaign(engine, "xucheng-2017")
    resolver = MappingSecretResolver({SECRET_REF: PASSWORD})
    collect_mailbox(engine, handle, stores, resolver, as_of=date(2017, 6, 1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
