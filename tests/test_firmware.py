"""SD-card provisioning: shellcheck, a run against a throwaway root (twice), sample configs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from appliance.config import build_config
from tests.fakes.system import fake_root, run_script, snapshot

REPO = Path(__file__).resolve().parent.parent
FIRMWARE = REPO / "firmware"
PROVISION = FIRMWARE / "provision.sh"
AS_ROOT = os.geteuid() == 0


def test_scripts_pass_shellcheck() -> None:
    assert shutil.which("shellcheck"), "apt-get install -y shellcheck to run make test"
    scripts = sorted(p for p in FIRMWARE.rglob("*.sh") if "broker" not in p.parts)
    assert PROVISION in scripts
    result = subprocess.run(["shellcheck", *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("name", ["node-pi.toml", "node-laptop.toml"])
def test_sample_configs_validate(name: str) -> None:
    config = build_config(tomllib.loads((FIRMWARE / "config" / name).read_text()), name)
    if name == "node-pi.toml":
        assert config.scanner.type == "evdev" and config.display.type == "ssd1306"
        assert config.scanner.device == "/dev/input/kitchen-scanner"
        assert str(config.storage.data_dir) == "/var/lib/kitchen-node"
    else:
        assert (config.scanner.type, config.display.type, config.buttons.type) == (
            "stdin", "dummy", "mock",
        )  # fmt: skip


def _fake_root(root: Path) -> None:
    """The few files of a Raspberry Pi OS root the script reads."""
    fake_root(root, groups="root:x:0:\ninput:x:101:\n", gshadow="root:*::\ninput:!::\n")
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/config.txt").write_text("[all]\narm_64bit=1\n")


def _provision(root: Path) -> str:
    return run_script(PROVISION, root, "--python", sys.executable)


def test_provisioning_a_throwaway_root_twice(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _fake_root(root)
    first = _provision(root)
    assert "changed: /etc/systemd/system/kitchen-node.service" in first

    unit = root / "etc/systemd/system/kitchen-node.service"
    assert unit.read_bytes() == (REPO / "systemd/kitchen-node.service").read_bytes()
    assert unit.stat().st_mode & 0o777 == 0o644
    wants = root / "etc/systemd/system/multi-user.target.wants/kitchen-node.service"
    assert os.readlink(wants) == "/etc/systemd/system/kitchen-node.service"

    rule = root / "etc/udev/rules.d/99-kitchen-scanner.rules"
    assert rule.read_bytes() == (FIRMWARE / "udev/99-kitchen-scanner.rules").read_bytes()
    assert 'SYMLINK+="input/kitchen-scanner"' in rule.read_text()

    config = root / "etc/kitchen-node/config.toml"
    assert config.read_bytes() == (FIRMWARE / "config/node-pi.toml").read_bytes()
    assert config.stat().st_mode & 0o777 == 0o640  # may hold the MQTT password

    avahi = (root / "etc/avahi/services/kitchen-node.service").read_text()
    assert "<type>_kitchen._tcp</type>" in avahi and "<txt-record>id=kitchen</txt-record>" in avahi

    assert (root / "etc/modules-load.d/kitchen-node.conf").read_text().splitlines()[-1] == "i2c-dev"
    boot = (root / "boot/firmware/config.txt").read_text()
    assert boot.startswith("[all]\narm_64bit=1\n")
    assert boot.count("dtparam=i2c_arm=on") == 1

    if AS_ROOT:
        passwd = (root / "etc/passwd").read_text()
        assert "kitchen:" in passwd and ":/var/lib/kitchen-node:/usr/sbin/nologin" in passwd
        groups = {
            line.split(":")[0]: line.split(":")[3].split(",")
            for line in (root / "etc/group").read_text().splitlines()
        }
        for group in ("input", "i2c", "gpio"):
            assert "kitchen" in groups[group], group
        kitchen_gid = next(
            int(line.split(":")[2])
            for line in (root / "etc/group").read_text().splitlines()
            if line.startswith("kitchen:")
        )
        assert config.stat().st_gid == kitchen_gid

    before = snapshot(root)
    second = _provision(root)
    assert "changed:" not in second
    assert second.strip().endswith("provision: 0 changes")
    assert snapshot(root) == before


def test_edited_config_is_kept(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _fake_root(root)
    config = root / "etc/kitchen-node/config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[node]\nid = "pantry"\n')
    _provision(root)
    assert config.read_text() == '[node]\nid = "pantry"\n'


def test_unknown_option_fails() -> None:
    result = subprocess.run(["bash", str(PROVISION), "--bogus"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown option" in result.stderr
