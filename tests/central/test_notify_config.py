"""The ``[notify]`` section of central's configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.settings_base import ConfigError
from central.app import _notify_tuning
from central.cli import main
from central.config import build_config


def test_config_urls_are_secrets_when_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "central.toml"
    path.write_text('[notify]\nurls = ["ntfys://alice:hunter2@ntfy.example.org/kitchen"]\n')
    assert main(["--config", str(path), "config"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and "alice" not in out
    assert json.loads(out)["notify"]["urls"] == ["**********"]
    tuning = _notify_tuning(build_config({"notify": {"urls": ["json://127.0.0.1:1/x"]}}))
    assert tuning.config_urls == ("json://127.0.0.1:1/x",)


def test_bad_notify_settings_are_listed_with_their_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        build_config({"notify": {"urls": ["nonsense://x"], "max_attempts": 0, "colour": "red"}})
    errors = dict(caught.value.errors)
    assert "URL 1: Apprise does not understand" in errors["notify.urls"]
    assert errors["notify.colour"] == "unknown key"
    assert "notify.max_attempts" in errors
