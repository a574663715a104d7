"""Central's systemd unit and the Mosquitto drop-in pass `systemd-analyze verify` and agree with
what `kitchen-central setup` writes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from central.config import ReceiptsSection
from central.setup import SetupOptions
from tests.fakes.system import unit_values, verify_unit

REPO = Path(__file__).resolve().parent.parent
UNIT = REPO / "systemd" / "kitchen-central.service"
DROP_IN = REPO / "systemd" / "mosquitto.service.d" / "kitchen.conf"
DEBIAN_MOSQUITTO = Path("/lib/systemd/system/mosquitto.service")
EXEC = "/opt/kitchen/venv/bin/kitchen-central"


def test_central_unit_verifies(tmp_path: Path) -> None:
    assert shutil.which("systemd-analyze"), "install systemd (systemd-analyze) to run make test"
    stand_in = tmp_path / "kitchen-central"  # verify insists that ExecStart exists here
    stand_in.write_text("#!/bin/sh\n")
    stand_in.chmod(0o755)
    text = UNIT.read_text()
    assert text.count(EXEC) == 1
    unit = tmp_path / "kitchen-central.service"
    unit.write_text(text.replace(EXEC, str(stand_in)))
    verify_unit(unit)


def test_mosquitto_drop_in_verifies_on_debians_unit(tmp_path: Path) -> None:
    assert DEBIAN_MOSQUITTO.is_file(), "apt-get install mosquitto to run make test"
    shutil.copy(DEBIAN_MOSQUITTO, tmp_path / "mosquitto.service")
    (tmp_path / "mosquitto.service.d").mkdir()
    shutil.copy(DROP_IN, tmp_path / "mosquitto.service.d" / "kitchen.conf")
    verify_unit(tmp_path / "mosquitto.service")
    # The drop-in is read: a broken ExecStart in it fails the verification.
    broken = DROP_IN.read_text().replace("/usr/sbin/mosquitto", str(tmp_path / "missing"))
    (tmp_path / "mosquitto.service.d" / "kitchen.conf").write_text(broken)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / "mosquitto.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "missing" in result.stderr


def test_unit_settings_match_setup_and_the_receipt_worker() -> None:
    unit = {key: values[-1] for key, values in unit_values(UNIT).items()}
    options = SetupOptions()
    assert unit["Service.Type"] == "notify"
    assert 0 < int(unit["Service.WatchdogSec"]) <= 60
    assert unit["Service.Restart"] == "on-failure"
    assert unit["Service.ExecStart"] == f"{EXEC} --config {options.config} run"
    assert unit["Service.User"] == unit["Service.Group"] == options.service_group
    assert Path("/var/lib") / unit["Service.StateDirectory"] == options.data_dir
    assert unit["Service.WorkingDirectory"] == str(options.data_dir)
    for key, value in {
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "NoNewPrivileges": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert unit[f"Service.{key}"] == value, key
    # Room for the receipt reader at its cap plus central itself (~200 MB) and some.
    mib = int(unit["Service.MemoryMax"].removesuffix("M")) * 2**20
    assert mib >= ReceiptsSection().memory_cap_bytes + 400 * 2**20
    assert "postgresql.service" in unit["Unit.After"] and "mosquitto.service" in unit["Unit.After"]

    drop_in = unit_values(DROP_IN)
    assert drop_in["Service.ExecStart"] == ["", f"/usr/sbin/mosquitto -c {options.broker_config}"]
