"""The node's systemd unit passes `systemd-analyze verify` and keeps its promises."""

from __future__ import annotations

import configparser
import shutil
from pathlib import Path

from appliance.config import HttpSection
from appliance.serving import DESCRIPTOR_RESERVE
from tests.fakes.system import unit_values, verify_unit

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "systemd" / "kitchen-node.service"
EXEC = "/opt/kitchen/venv/bin/kitchen-node"


def test_unit_verifies(tmp_path: Path) -> None:
    assert shutil.which("systemd-analyze"), "install systemd (systemd-analyze) to run make test"
    # verify insists that ExecStart exists here: point it at a stand-in in tmp_path.
    stand_in = tmp_path / "kitchen-node"
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    text = UNIT.read_text()
    assert text.count(EXEC) == 1
    unit = tmp_path / "kitchen-node.service"
    unit.write_text(text.replace(EXEC, str(stand_in)))
    verify_unit(unit)


def test_unit_settings() -> None:
    unit = unit_values(UNIT)
    one = {key: values[-1] for key, values in unit.items()}
    assert one["Service.Type"] == "notify"
    assert int(one["Service.WatchdogSec"]) > 0
    assert one["Service.Restart"] == "on-failure"
    assert one["Service.ExecStart"] == f"{EXEC} run --config /etc/kitchen-node/config.toml"
    assert "-HUP" in one["Service.ExecReload"]
    assert one["Service.User"] == "kitchen"
    assert set(one["Service.SupplementaryGroups"].split()) == {"input", "i2c", "gpio"}
    assert one["Service.StateDirectory"] == "kitchen-node"
    assert one["Service.WorkingDirectory"] == "/var/lib/kitchen-node"  # lgpio writes here
    assert one["Service.ProtectSystem"] == "strict"
    assert one["Service.ProtectHome"] == "yes"
    assert one["Service.PrivateTmp"] == "yes"
    assert one["Service.NoNewPrivileges"] == "yes"
    assert one["Service.DevicePolicy"] == "closed"
    assert "Service.PrivateDevices" not in unit  # it would hide the scanner, I2C and GPIO
    allowed = {value.split()[0] for value in unit["Service.DeviceAllow"]}
    assert allowed == {"char-input", "char-i2c", "char-gpiochip"}
    assert one["Install.WantedBy"] == "multi-user.target"
    # Room for every connection the node keeps by default, and the node's own files.
    limits = HttpSection().limits()
    assert int(one["Service.LimitNOFILE"]) >= 2 * (limits.max_connections + DESCRIPTOR_RESERVE)


def test_unit_is_plain_ini() -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(UNIT.read_text())
    assert parser.sections() == ["Unit", "Service", "Install"]
