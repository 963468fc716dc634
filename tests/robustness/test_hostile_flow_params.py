"""Hostile flow parameters, as anyone with access to the Prefect UI can type them.

The tick, collect and dispatch flows' parameters (validated as Prefect validates them, from
the flat signature) turn any JSON into values or a ValidationError; valid tick parameters,
run through the same composition calls as the pingan-tick flow, ends in
a result or an InputError whose problems name the parameter in Chinese — never another
exception, and never a database error on either backend.
"""

from __future__ import annotations

import contextlib
import inspect
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError, create_model
from sqlalchemy import Engine

from flows.collect import collect
from flows.dispatch import dispatch
from flows.tick import WaiverInput, tick
from pingan import root
from pingan.adapters.render.tick_summary import colour_table, summary_markdown
from pingan.core.problems import InputError
from pingan.root import container
from pingan.services.collect import collect_inbox
from pingan.services.dispatch import run_dispatch
from pingan.services.mail import collect_mailbox, mail_configured
from pingan.services.tick import evaluate_and_plan, open_campaign, resolve_as_of, waive
from tasks.ticking import as_dict
from tests.factories import SEED_CODE, load_seed, seed_campaign
from tests.robustness._hostile import check_problems, hostile_settings, nasty_text, values

GATES = [g.key for g in seed_campaign().gates]


def parameters_model(flow: Any) -> type[BaseModel]:
    """The flow's flat parameters as one model: what Prefect validates a run's JSON with."""
    hints = get_type_hints(flow.fn, include_extras=True)
    fields: dict[str, Any] = {
        name: (hints[name], ... if p.default is p.empty else p.default)
        for name, p in inspect.signature(flow.fn).parameters.items()
    }
    return create_model(f"{flow.fn.__name__}_parameters", **fields)


TickInput = parameters_model(tick)
CollectInput = parameters_model(collect)
DispatchInput = parameters_model(dispatch)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Three draws in four are good, so that most examples get past the first check."""
    return st.one_of(good, good, good, bad)


dates = mostly(
    st.dates(min_value=date(2017, 5, 1), max_value=date(2017, 12, 31)).map(str),
    st.one_of(
        st.none(),
        st.dates().map(str),
        st.sampled_from(["2017-02-29", "0001-01-01", "9999-12-31", "明天", "", 20170522]),
    ),
)
# Gates and units that owe them, so that most waivers reach the database.
OWED = [
    ("self-check", ["SYN-C0000001"]),
    ("local-plan", ["SYN-V00001", "SYN-C0000002"]),
    ("domain-plan", ["jdjb"]),
    ("experience", ["jdjb"]),
]
waiver = st.builds(
    lambda owed, bad_gate, bad_units, reason, extra: {
        "gate": bad_gate if bad_gate is not None else owed[0],
        "units": bad_units if bad_units is not None else owed[1],
        "reason": reason,
        **extra,
    },
    st.sampled_from(OWED),
    mostly(st.none(), nasty_text),
    mostly(st.none(), values()),
    mostly(st.text(min_size=1, max_size=20), st.text(min_size=400, max_size=700)),
    st.fixed_dictionaries(
        {},
        optional={
            "reopen": st.booleans(),
            "actor": mostly(st.text(min_size=1, max_size=20), st.text(min_size=90, max_size=300)),
        },
    ),
)


def inbox_choices(root: Path) -> st.SearchStrategy[Any]:
    """Only places that are safe to collect from: never a real directory of this machine."""
    return st.sampled_from(
        [
            None,
            str(root / "inbox"),
            str(root / "no-such-inbox"),
            f"memory://pingan-hostile-{uuid.uuid4().hex}",
            "foo://bar",
            "ftp://127.0.0.1:1/inbox",
            str(root / "in\x00box"),
            "   ",
        ]
    )


def tick_params(root: Path) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"campaign": mostly(st.just(SEED_CODE), nasty_text)},
        optional={
            "as_of": dates,
            "dry_run": mostly(st.just(False), st.one_of(st.booleans(), values())),
            "inbox": inbox_choices(root),
            "waivers": mostly(st.lists(waiver, max_size=2), values()),
            "dispatch": st.booleans(),
            "respect_quiet_hours": st.booleans(),
            "mail": mostly(st.booleans(), values()),
            "extra": mostly(st.nothing(), values()),
        },
    )


@pytest.fixture
def seeded(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Engine, Path]]:
    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PINGAN_CHANNEL_OVERRIDE", "file")
    monkeypatch.setenv("PINGAN_OUTBOX_FILE", str(tmp_path / "outbox.jsonl"))
    root.reset()
    load_seed(engine, tmp_path, cells=6)
    (tmp_path / "inbox" / "self_check" / "SYN-C0000001").mkdir(parents=True)
    yield engine, tmp_path
    root.reset()


def run_like_the_flow(engine: Engine, params: Any) -> None:
    """The body of flows/tick.py with each task replaced by the call it wraps."""
    handle = open_campaign(engine, params.campaign)
    as_of = resolve_as_of(handle, params.as_of)
    intake = None
    if params.inbox and not params.dry_run:
        stores = root.container().intake_stores()
        intake = collect_inbox(engine, handle, params.inbox, stores, as_of=params.as_of)
    mail = None
    if params.mail and not params.dry_run and mail_configured(handle):
        c = root.container()
        mail = collect_mailbox(
            engine, handle, c.intake_stores(), c.secret_resolver(), as_of=params.as_of
        )
    for w in [] if params.dry_run else params.waivers or []:
        waive(
            engine,
            handle,
            gate_key=w.gate,
            unit_codes=w.units,
            reason=w.reason,
            actor=w.actor,
            reopen=w.reopen,
        )
    result = evaluate_and_plan(engine, handle, as_of, dry_run=params.dry_run, lock_wait_s=5)
    delivery = None
    if params.dispatch and not params.dry_run:
        c = root.container()
        report = run_dispatch(
            engine,
            handle,
            c.delivery(),
            c.settings,
            respect_quiet_hours=params.respect_quiet_hours,
        )
        delivery = report.as_dict()
    colour_table(result.status)
    summary_markdown(result, as_dict(intake, mail), delivery)


def test_the_flow_body_above_covers_every_tick_parameter() -> None:
    handled = {"campaign", "as_of", "dry_run", "inbox", "waivers", "dispatch"}
    handled |= {"respect_quiet_hours", "mail"}
    assert set(TickInput.model_fields) == handled
    assert set(WaiverInput.model_fields) == {"gate", "units", "reason", "reopen", "actor"}


@hostile_settings(30, HealthCheck.function_scoped_fixture)
@given(data=st.data())
def test_hostile_tick_parameters_end_in_a_result_or_an_input_error(
    seeded: tuple[Engine, Path], data: st.DataObject
) -> None:
    engine, root = seeded
    raw = data.draw(tick_params(root))
    try:
        params = TickInput.model_validate(raw)
    except ValidationError:
        return
    try:
        run_like_the_flow(engine, params)
    except InputError as exc:
        check_problems(exc.problems)


flow_keys = st.sampled_from(["campaign", "inbox", "as_of", "wait_up_to_s", "units", "waivers"])


@pytest.mark.parametrize("model", [TickInput, CollectInput, DispatchInput, WaiverInput])
@hostile_settings(60)
@given(raw=st.one_of(values(), st.dictionaries(flow_keys, values())))
def test_any_json_is_a_model_or_a_validation_error(model: type[BaseModel], raw: Any) -> None:
    with contextlib.suppress(ValidationError):
        model.model_validate(raw)


# --- cases the properties found ---------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        {"waivers": [{"gate": "self-check", "units": ["SYN-C0000001"], "reason": "理" * 501}]},
        {
            "waivers": [
                {
                    "gate": "self-check",
                    "units": ["SYN-C0000001"],
                    "reason": "r",
                    "actor": "人" * 101,
                }
            ]
        },
        {"inbox": "foo://bar"},
        {"inbox": "ftp://127.0.0.1:1/inbox"},
    ],
    ids=["long-reason", "long-actor", "unknown-protocol", "unreachable-inbox"],
)
def test_parameters_that_once_raised_now_end_in_an_input_error(
    seeded: tuple[Engine, Path], raw: dict[str, Any]
) -> None:
    engine, _ = seeded
    params = TickInput.model_validate({"campaign": SEED_CODE, "as_of": "2017-05-22", **raw})
    with pytest.raises(InputError) as exc:
        run_like_the_flow(engine, params)
    check_problems(exc.value.problems)


@pytest.mark.parametrize("inbox", ["", "  "])
def test_a_blank_inbox_is_refused_rather_than_collecting_the_working_directory(
    seeded: tuple[Engine, Path], monkeypatch: pytest.MonkeyPatch, inbox: str
) -> None:
    """CollectInput.inbox may be left blank in the UI; Path("") is the working directory."""
    engine, root = seeded
    workdir = root / "worker"
    (workdir / "self_check" / "SYN-C0000001").mkdir(parents=True)
    canary = workdir / "self_check" / "SYN-C0000001" / "不属于报送的文件.pdf"
    canary.write_bytes(b"%PDF-1.4\n")
    monkeypatch.chdir(workdir)
    with pytest.raises(InputError) as exc:
        handle = open_campaign(engine, SEED_CODE)
        stores = container().intake_stores()
        collect_inbox(engine, handle, inbox, stores, as_of=date(2017, 6, 1))
    check_problems(exc.value.problems)
    assert canary.exists()
