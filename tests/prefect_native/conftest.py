"""The Prefect-native tests: the in-process flow tests ask for ``pingan_env`` and with it the
process's Prefect test server (tests/conftest.py); the deployed-run tests start a real one
of their own."""

from __future__ import annotations

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
