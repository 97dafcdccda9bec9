"""Settings: schema, validation, TOML round trip, the file with a last good version."""

import json
import os
import tomllib
from pathlib import Path

import pytest

from smoothtask_helper.configfile import ConfigFile
from smoothtask_helper.errors import InvalidArgument
from smoothtask_helper.settings import DEFAULTS, Settings, merged, parse_toml, to_toml


def test_defaults_round_trip_through_toml() -> None:
    text = to_toml(DEFAULTS)
    assert parse_toml(text, "s") == DEFAULTS
    assert tomllib.loads(text)["classes"]["BACKGROUND"] == {
        "nice": 19,
        "ionice": "best-effort/7",
        "cpu_weight": 10,
    }


def test_a_partial_document_merges_over_the_current_settings() -> None:
    changed = merged(
        DEFAULTS, {"policy": {"hysteresis_samples": 5}, "classes": {"IDLE": {"nice": 15}}}
    )
    assert changed.hysteresis_samples == 5
    assert changed.class_table()["IDLE"].nice == 15
    assert changed.class_table()["IDLE"].ionice == DEFAULTS.class_table()["IDLE"].ionice
    assert changed.mode == DEFAULTS.mode
    assert parse_toml(to_toml(changed), "s") == changed


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"general": {"mode": "turbo"}}, "must be one of"),
        ({"general": {"interval_s": 0}}, "between"),
        ({"general": {"interval_s": float("nan")}}, "between"),
        ({"general": {"interval_s": "1"}}, "must be a number"),
        ({"general": {"history_s": 60}}, "between 900"),
        ({"policy": {"hysteresis_samples": True}}, "integer"),
        ({"policy": {"manage_uids": [-1]}}, "between"),
        ({"policy": {"manage_uids": "root"}}, "list"),
        ({"policy": {"ananicy_dirs": ["relative/dir"]}}, "absolute"),
        ({"policy": {"ananicy_dirs": ["/etc/../root"]}}, "plain absolute"),
        ({"policy": {"speed": 1}}, "unknown setting"),
        ({"turbo": {}}, "unknown settings section"),
        ({"general": []}, "must be a table"),
        ({"classes": {"CRIT_INTERACTIVE": {"nice": -15}}}, "below -10"),
        ({"classes": {"IDLE": {"ionice": "realtime/1"}}}, "real-time"),
        ({"classes": {"IDLE": {"cpu_weight": 0}}}, "outside"),
        ({"classes": {"FAST": {"nice": 0}}}, "unknown class"),
        ({"classes": {"IDLE": {"sched": "fifo"}}}, "unknown key"),
        ([], "must be a table"),
    ],
)
def test_invalid_settings_are_refused(patch: object, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        merged(DEFAULTS, patch)


def test_invalid_toml_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="invalid TOML"):
        parse_toml("[general\nmode=", "settings.toml")


def make_file(tmp_path: Path) -> ConfigFile[Settings]:
    return ConfigFile(
        tmp_path / "etc/settings.toml", tmp_path / "state/last-good.toml", parse_toml, DEFAULTS
    )


def test_save_is_validated_and_atomic(tmp_path: Path) -> None:
    settings = make_file(tmp_path)
    settings.load()
    assert settings.source == "defaults"
    with pytest.raises(InvalidArgument):
        settings.save('[general]\nmode = "turbo"\n')
    assert not settings.path.exists()  # nothing written
    settings.save(to_toml(merged(DEFAULTS, {"general": {"mode": "paused"}})))
    assert settings.value.mode == "paused"
    assert not list(settings.path.parent.glob(".*.tmp"))  # no temporary file left


def test_a_bad_file_at_start_keeps_the_last_good_one(tmp_path: Path) -> None:
    first = make_file(tmp_path)
    first.load()
    first.save(to_toml(merged(DEFAULTS, {"policy": {"hysteresis_samples": 7}})))
    first.path.write_text("this is [not toml")
    again = make_file(tmp_path)
    again.load()
    assert again.value.hysteresis_samples == 7
    assert again.source == "last good copy"
    assert again.error is not None and "invalid TOML" in again.error


def error_of(file: ConfigFile[Settings]) -> str:
    return file.error or ""  # (a call, so that the type checker does not narrow it)


def test_poll_picks_up_hand_edits_and_refuses_bad_ones(tmp_path: Path) -> None:
    settings = make_file(tmp_path)
    settings.load()
    settings.save(to_toml(DEFAULTS))
    assert not settings.poll()  # our own write is not a change
    settings.path.write_text("[policy]\nhysteresis_samples = 9\n")
    os.utime(settings.path, ns=(1, 1))  # a different mtime, whatever the clock's resolution
    assert settings.poll()
    assert settings.value.hysteresis_samples == 9 and settings.error is None
    settings.path.write_text('[policy]\nhysteresis_samples = "many"\n')
    assert settings.poll()
    assert settings.value.hysteresis_samples == 9  # the last good one stays in force
    assert "hysteresis_samples" in error_of(settings)
    settings.path.unlink()
    assert settings.poll()
    assert settings.value == DEFAULTS and settings.error is None


def test_settings_document_is_json() -> None:
    json.dumps(DEFAULTS.to_document(), allow_nan=False)
