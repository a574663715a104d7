"""Central's configuration and its command line."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from appliance.settings_base import ConfigError
from appliance.sync.config import SyncConfig
from central.cli import main
from central.config import build_config, load_config


def test_unknown_keys_and_bad_values_are_all_listed() -> None:
    with pytest.raises(ConfigError) as caught:
        build_config(
            {
                "central": {"household": "Home!", "colour": "blue"},
                "mqtt": {"port": 0, "workers": 50},
                "nonsense": {},
            }
        )
    keys = [key for key, _ in caught.value.errors]
    assert {"central.household", "central.colour", "mqtt.port", "nonsense"} <= set(keys)
    assert dict(caught.value.errors)["central.colour"] == "unknown key"


def test_cross_field_rule() -> None:
    with pytest.raises(ConfigError, match="workers"):
        build_config({"mqtt": {"workers": 20}, "database": {"max_connections": 4}})


def test_secrets_from_files(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    (tmp_path / "dsn").write_text("postgresql://u@db/kitchen\n")
    config = build_config(
        {
            "mqtt": {"password_file": str(tmp_path / "pw")},
            "database": {"dsn_file": str(tmp_path / "dsn")},
        }
    )
    assert config.mqtt.resolved_password() == "s3cret"
    assert config.database.resolved_dsn() == "postgresql://u@db/kitchen"


def test_config_command_masks_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "central.toml"
    path.write_text('[mqtt]\npassword = "hunter2"\n[central]\nhousehold = "flat"\n')
    assert main(["--config", str(path), "config"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out
    assert json.loads(out)["central"]["household"] == "flat"
    assert load_config(path).mqtt.resolved_password() == "hunter2"


def test_config_command_reports_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "central.toml"
    path.write_text("[http]\nprot = 1\n")
    assert main(["config", "--config", str(path)]) == 2
    assert "http.prot: unknown key" in capsys.readouterr().err


def test_node_add_prints_a_sync_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "central.toml"
    path.write_text('[central]\nhousehold = "flat"\n[mqtt]\nhost = "10.0.0.2"\n')
    code = main(
        [
            "--config",
            str(path),
            "node",
            "add",
            "pantry",
            "--password-file",
            str(tmp_path / "passwd"),
            "--acl-file",
            str(tmp_path / "acl"),
        ]
    )
    assert code == 0
    sync = SyncConfig(**tomllib.loads(capsys.readouterr().out)["sync"])
    assert (sync.enabled, sync.host, sync.username) == (True, "10.0.0.2", "pantry")
    assert "pantry:" in (tmp_path / "passwd").read_text()
    assert "kitchen/v1/flat/" in (tmp_path / "acl").read_text()
    assert (
        main(
            [
                "--config",
                str(path),
                "node",
                "add",
                "central",
                "--password-file",
                str(tmp_path / "passwd"),
                "--acl-file",
                str(tmp_path / "acl"),
            ]
        )
        == 1
    )


def test_config_file_from_the_environment_then_setups_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import central.cli
    from central.cli import default_config_path
    from central.setup import SetupOptions

    assert SetupOptions().config == central.cli.DEFAULT_CONFIG
    written = tmp_path / "config.toml"
    monkeypatch.setattr(central.cli, "DEFAULT_CONFIG", written)
    assert default_config_path({}) is None  # setup has not written it
    written.write_text("")
    assert default_config_path({}) == written
    other = tmp_path / "other.toml"
    assert default_config_path({"KITCHEN_CENTRAL_CONFIG": str(other)}) == other


def test_ha_add_prints_home_assistants_mqtt_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "central.toml"
    path.write_text(
        '[central]\nhousehold = "flat"\n[mqtt]\nhost = "10.0.0.2"\n'
        '[homeassistant]\nprefix = "ha-test"\n'
    )
    files = ["--password-file", str(tmp_path / "passwd"), "--acl-file", str(tmp_path / "acl")]

    assert main(["--config", str(path), "ha", "add", *files]) == 0

    out = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines() if ": " in line)
    assert out["broker"] == "10.0.0.2" and out["username"] == "homeassistant"
    assert out["discovery_prefix"] == "ha-test"
    assert len(out["password"]) >= 32
    acl = (tmp_path / "acl").read_text()
    assert "user homeassistant\ntopic read ha-test/#" in acl
    assert "topic write kitchen/v1/flat/node/+/cmd/#" in acl
    # The name may not be central's, nor be unusable in a topic.
    assert main(["--config", str(path), "ha", "add", "central", *files]) == 1
    assert main(["--config", str(path), "ha", "add", "Home Assistant", *files]) == 1


def test_the_homeassistant_section_is_checked() -> None:
    with pytest.raises(ConfigError) as caught:
        build_config({"homeassistant": {"prefix": "home/assistant", "refresh": 0, "colour": 1}})
    keys = {key for key, _ in caught.value.errors}
    assert keys == {"homeassistant.prefix", "homeassistant.refresh", "homeassistant.colour"}
    assert build_config({}).homeassistant.enabled


def test_node_remove_without_the_broker_keeps_retained_topics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "central.toml"
    path.write_text('[central]\nhousehold = "flat"\n')
    files = ["--password-file", str(tmp_path / "passwd"), "--acl-file", str(tmp_path / "acl")]
    assert main(["--config", str(path), "node", "add", "pantry", *files]) == 0

    code = main(["--config", str(path), "node", "remove", "pantry", "--keep-retained", *files])

    assert code == 0
    assert "pantry" not in (tmp_path / "passwd").read_text()
    assert "user pantry" not in (tmp_path / "acl").read_text()
    assert "Removed broker login" in capsys.readouterr().err
