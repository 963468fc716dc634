"""pingan.root: one validated Settings, and the container built from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pingan import root
from pingan.core.problems import InputError
from pingan.root import ChannelOverride, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "PINGAN_CHANNEL_OVERRIDE",
        "PINGAN_PORTAL_SECRET",
        "PINGAN_PORTAL_LINK_DAYS",
        "PINGAN_MAX_FILE_BYTES",
        "PINGAN_SMTP_REF",
        "PINGAN_MIRROR_MAIL_TO",
    ):
        monkeypatch.delenv(name, raising=False)
    root.reset()
    yield
    root.reset()


def problems(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InputError) as exc:
        load_settings()
    return [str(p) for p in exc.value.problems]


def test_a_mistyped_channel_override_fails_at_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert problems(monkeypatch, PINGAN_CHANNEL_OVERRIDE="fiel") == [
        "设置: PINGAN_CHANNEL_OVERRIDE: 取值无效；可选值：file（或不设置）"
    ]


def test_a_blank_channel_override_means_real_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_CHANNEL_OVERRIDE", "")
    assert load_settings().channel_override is None


def test_the_file_override_is_the_enum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGAN_CHANNEL_OVERRIDE", "file")
    assert load_settings().channel_override is ChannelOverride.FILE


def test_a_short_portal_secret_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    [line] = problems(monkeypatch, PINGAN_PORTAL_SECRET="hunter2-hunter2")
    assert "PINGAN_PORTAL_SECRET" in line and "至少 32 个字符" in line
    assert "hunter2" not in line


@pytest.mark.parametrize(
    ("variable", "value", "hint"),
    [
        ("PINGAN_PORTAL_LINK_DAYS", "0", "1 至 366"),
        ("PINGAN_PORTAL_LINK_DAYS", "9999", "1 至 366"),
        ("PINGAN_MAX_FILE_BYTES", "10", "字节数"),
        ("PINGAN_PORTAL_LINK_DAYS", "sixty", "应为整数"),
    ],
)
def test_bounded_settings_fail_with_their_range(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, hint: str
) -> None:
    [line] = problems(monkeypatch, **{variable: value})
    assert line.startswith(f"设置: {variable}: ") and hint in line


def test_every_bad_variable_is_listed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = problems(monkeypatch, PINGAN_CHANNEL_OVERRIDE="x", PINGAN_PORTAL_LINK_DAYS="0")
    assert {line.split(":")[1].strip() for line in lines} == {
        "PINGAN_CHANNEL_OVERRIDE",
        "PINGAN_PORTAL_LINK_DAYS",
    }


def test_the_container_is_built_once_and_reset_on_demand(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "a"))
    first = root.container()
    assert root.container() is first and root.settings().home == tmp_path / "a"
    monkeypatch.setenv("PINGAN_HOME", str(tmp_path / "b"))
    root.reset()
    assert root.settings().home == tmp_path / "b"


def test_an_installed_container_wins_over_the_environment(tmp_path: Path) -> None:
    mine = root.install(root.build(Settings(home=tmp_path)))
    assert root.container() is mine


def test_the_file_override_delivers_everything_to_one_sink(tmp_path: Path) -> None:
    c = root.build(
        Settings(channel_override=ChannelOverride.FILE, outbox_file=tmp_path / "out.jsonl")
    )
    delivery = c.delivery()
    assert delivery.override == "file"
    assert {type(ch).__name__ for ch in delivery.channels.values()} == {"FileChannel"}


def test_env_references_resolve_in_the_containers_own_environment(tmp_path: Path) -> None:
    c = root.build(Settings(home=tmp_path), environ={"DEMO_SMTP": "mailto://x"})
    assert c.secret_resolver().resolve("env:DEMO_SMTP") == "mailto://x"


def test_folders_and_the_award_key_come_from_the_settings(tmp_path: Path) -> None:
    c = root.build(Settings(home=tmp_path, award_secret="k" * 40))  # type: ignore[arg-type]
    assert c.output_dir("xc-2017") == tmp_path / "output" / "xc-2017"
    assert c.reports_dir("xc-2017").parts[-1] == "reports"
    assert c.award_key() == b"k" * 40
    assert c.intake_stores().evidence_dir == tmp_path / "evidence"
