"""Hostile campaign YAML: random text, mutated text and mutated structures of the real
campaign files all end in a campaign or an InputError whose every problem names the file and
says in Chinese what is wrong — never another exception."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import annotated_types
import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import Engine

from pingan.core.campaign import (
    Campaign,
    Coordinator,
    Domain,
    Gate,
    Phase,
    UnitDef,
    load_campaign,
)
from pingan.core.problems import InputError
from pingan.services.load import load
from tests.robustness._hostile import check_problems, hostile_settings, nasty_text, values

REPO = Path(__file__).resolve().parents[2]
SOURCES = (
    REPO / "config" / "campaigns" / "xucheng-2017.yaml",
    REPO / "tests" / "fixtures" / "campaigns" / "minimal-2026.yaml",
)
TEXTS = [p.read_text(encoding="utf-8") for p in SOURCES]
DATA = [yaml.safe_load(t) for t in TEXTS]
SETTINGS = hostile_settings(60)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """campaigns/ beside a copy of config/calendars, as in the repository."""
    root = tmp_path_factory.mktemp("hostile-campaign")
    shutil.copytree(REPO / "config" / "calendars", root / "calendars")
    (root / "campaigns").mkdir()
    yield root / "campaigns"


def load_text(folder: Path, text: str | bytes) -> None:
    path = folder / "campaign.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    try:
        load_campaign(path)
    except InputError as exc:
        check_problems(exc.problems, str(path))


# --- text -------------------------------------------------------------------------------


@SETTINGS
@given(text=st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_random_text_is_a_campaign_or_an_input_error(folder: Path, text: str | bytes) -> None:
    load_text(folder, text)


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(TEXTS)).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "dup", "swap", "char", "cut", "value", "indent"]))
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "char":
            k = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:k] + draw(nasty_text) + lines[i][k:]
        elif op == "cut":
            lines = lines[:i]
        elif op == "value" and ":" in lines[i]:
            head = lines[i].split(":", 1)[0]
            lines[i] = f"{head}: {draw(nasty_text)}"
        elif op == "indent":
            lines[i] = draw(st.sampled_from(["  ", "\t", "- ", ""])) + lines[i]
        if not lines:
            break
    return "\n".join(lines)


@SETTINGS
@given(text=mutated_text())
def test_mutated_campaign_text_is_a_campaign_or_an_input_error(folder: Path, text: str) -> None:
    load_text(folder, text)


# --- structure --------------------------------------------------------------------------


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated_structure(draw: st.DrawFn) -> Any:
    data = yaml.safe_load(yaml.safe_dump(draw(st.sampled_from(DATA))))  # a deep copy
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _get(data, path[:-1]), path[-1]
        op = draw(st.sampled_from(["replace", "delete", "duplicate", "date", "wrap"]))
        if op == "delete":
            del parent[last]
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(parent[last])
        elif op == "date":
            parent[last] = draw(
                st.sampled_from(
                    ["0001-01-01", "9999-12-31", "2017-02-29", "2017-1-1", "20170101", "明天"]
                )
            )
        elif op == "wrap":
            parent[last] = [parent[last]]
        else:
            parent[last] = draw(values())
    return data


@SETTINGS
@given(data=mutated_structure())
def test_mutated_campaign_structure_is_a_campaign_or_an_input_error(
    folder: Path, data: Any
) -> None:
    load_text(folder, yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


# --- cases the properties found ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "code: " + "[" * 5000 + "]" * 5000,
        "{a: " * 3000 + "1" + "}" * 3000,
    ],
    ids=["nested-lists", "nested-mappings"],
)
def test_deeply_nested_yaml_is_an_input_error(folder: Path, text: str) -> None:
    load_text(folder, text)


@pytest.mark.parametrize("field", ["calendar.overrides_dir", "templates_dir"])
def test_nul_in_a_directory_field_is_an_input_error(folder: Path, field: str) -> None:
    data = yaml.safe_load(TEXTS[1])
    if field == "templates_dir":
        data["templates_dir"] = "tpl\x00x"
    else:
        data["calendar"]["overrides_dir"] = "cal\x00x"
    path = folder / "campaign.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_campaign(path)
    assert [p.where for p in check_problems(exc.value.problems, str(path))] == [field]


def test_undecodable_text_in_a_field_is_reported_in_chinese(folder: Path) -> None:
    load_text(folder, TEXTS[1].replace("code: cunju-2026", 'code: "\\ud800"'))


def test_a_mistyped_year_lists_a_few_uncovered_years_not_thousands(folder: Path) -> None:
    path = folder / "campaign.yaml"
    path.write_text(TEXTS[1].replace("2026-03-01", "0026-03-01"), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_campaign(path)
    calendar = [p for p in check_problems(exc.value.problems, str(path)) if p.where == "calendar"]
    assert 1 < len(calendar) <= 4
    assert "另有" in calendar[-1].message


# --- limits against the database --------------------------------------------------------


def _max_len(model: type[BaseModel], field: str) -> int:
    """The schema's own limit, so a later change to it is tested too."""
    info = model.model_fields[field]
    found = [m.max_length for m in info.metadata if isinstance(m, annotated_types.MaxLen)]
    for arg in get_args(info.annotation):  # list[Annotated[str, Field(max_length=…)]]
        for extra in getattr(arg, "__metadata__", ()):
            found += [m.max_length for m in extra.metadata if isinstance(m, annotated_types.MaxLen)]
    assert found, (model, field)
    return found[0]


def test_campaign_and_roster_at_every_length_limit_load_on_both_backends(
    engine: Engine, tmp_path: Path
) -> None:
    """Whatever the schema and the roster reader accept fits the database's columns
    (PostgreSQL refuses longer values; SQLite would not notice)."""
    shutil.copytree(REPO / "config" / "calendars", tmp_path / "calendars")
    (tmp_path / "campaigns").mkdir()
    data = yaml.safe_load(TEXTS[1])
    data["name"] = "创" * _max_len(Campaign, "name")
    data["coordinator"]["name"] = "委" * _max_len(Coordinator, "name")
    data["units"][0]["name"] = "办" * _max_len(UnitDef, "name")
    data["phases"][0]["name"] = "段" * _max_len(Phase, "name")
    data["gates"][0]["name"] = "项" * _max_len(Gate, "name")
    domain = data["domains"][0]
    domain["name"] = "域" * _max_len(Domain, "name")
    category = "类" * _max_len(Domain, "cell_categories")
    domain["cell_categories"][0] = category
    # The longest title the award number leaves room for (semantic_problems checks it).
    data["award"]["prefix"] = ""
    domain["title"] = "号" * (100 - len("〔9999〕第999999号"))
    config = tmp_path / "campaigns" / "limits.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    header = "code,name,type,domain,village,category,contact,mobile,email,wecom,dingtalk,webhook"
    village, cell = "V" + "1" * 63, "C" + "0" * 63
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "\n".join(
            [
                header,
                f"{village},{'村' * 200},village,,,,{'张' * 100},13800138000,,,,",
                f"{cell},{'格' * 200},cell,{domain['key']},{village},{category},"
                f"{'李' * 100},+8613900139000,{'a' * 64}@{'b' * 61}.{'c' * 61}.{'d' * 61}.cn,"
                f"secret:{'w.' * 50},env:{'D_' * 50},secret:{'h-' * 50}",
            ]
        )
        + "\n",
        encoding="utf-8",
    )

    result = load(engine, config, roster)

    assert result.summary.added == 2


FREE_TEXT = {"name", "note", "description", "title", "issuer", "document", "how_to_submit"}
FREE_TEXT |= {"short_name", "phone", "fax", "email", "prefix", "cell_categories"}


def _text_paths(node: Any) -> Iterator[tuple[Any, ...]]:
    for path in _paths(node):
        names = [part for part in path if isinstance(part, str)]
        if path and names and names[-1] in FREE_TEXT and isinstance(_get(node, path), str):
            yield path


@st.composite
def retexted(draw: st.DrawFn) -> Any:
    """The minimal campaign with some free texts replaced: about half stay valid."""
    data = yaml.safe_load(TEXTS[1])
    paths = list(_text_paths(data))
    plain = st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1, max_size=200)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths))
        _get(data, path[:-1])[path[-1]] = draw(
            st.one_of(plain, plain, plain, nasty_text, st.text(min_size=1, max_size=600))
        )
    return data


@hostile_settings(25, HealthCheck.function_scoped_fixture)
@given(data=retexted())
def test_every_campaign_the_schema_accepts_loads_into_the_database(
    engine: Engine, tmp_path: Path, data: Any
) -> None:
    folder = tmp_path / "campaigns"
    if not folder.exists():
        shutil.copytree(REPO / "config" / "calendars", tmp_path / "calendars")
        folder.mkdir()
    path = folder / "campaign.yaml"
    path.write_bytes(yaml.safe_dump(data, allow_unicode=True).encode("utf-8", "surrogatepass"))
    try:
        load_campaign(path)
    except InputError as exc:
        check_problems(exc.problems, str(path))
        return
    load(engine, path, None)
