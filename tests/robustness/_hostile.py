"""Shared strategies and checks for the hostile-input property tests.

The property everywhere: outside data never raises anything but InputError (or comes back as
a result carrying Problems), and every problem names its file and says in Chinese what is
wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from pingan.core.problems import Problem

CJK = re.compile(r"[\u3400-\u9fff]")

# Characters that have broken parsers elsewhere: NUL, controls, bidi overrides, line and
# paragraph separators, BOM, full-width forms, a lone surrogate, a character outside the BMP.
NASTY_CHARS = (
    "\x00",
    "\x01",
    "\x1b",
    "\x7f",
    "\x85",
    "\u2028",
    "\u202e",
    "\ufeff",
    "\uff1d",
    "\ud800",
    "😀",
    "\\",
    '"',
    "'",
    ",",
    "\n",
    "\r",
    "\t",
    "=",
    "%",
    "{",
    "}",
)

nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(NASTY_CHARS), max_size=12),
    st.builds(
        lambda a, b: a + b,
        st.sampled_from(["=cmd|' /C calc'!A0", "+1", "-1", "@SUM(1)", "平安", "..", "/", ""]),
        st.text(max_size=10),
    ),
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    nasty_text,
)


def values(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Scalars, or small lists and mappings of them."""
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.text(max_size=8), inner, max_size=3),
        ),
        max_leaves=max_leaves,
    )


def check_problems(problems: Iterable[Problem], source: str | None = None) -> list[Problem]:
    """Each problem names a place and says in Chinese what is wrong; returns them as a list."""
    found = list(problems)
    assert found, "rejected without any problem"
    for p in found:
        assert isinstance(p, Problem), p
        assert p.source, p
        if source is not None:
            assert p.source == source, p
        assert CJK.search(p.message), f"not a Chinese message: {p}"
        assert "Traceback" not in p.message, p
    return found


def hostile_settings(max_examples: int, *suppress: HealthCheck) -> settings:
    """Moderate example counts keep the suite quick; PINGAN_HOSTILE_EXAMPLES=2000 digs deeper."""
    deeper = os.environ.get("PINGAN_HOSTILE_EXAMPLES")
    return settings(
        max_examples=int(deeper) if deeper else max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, *suppress],
    )
