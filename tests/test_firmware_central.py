"""firmware/install-central.sh against a throwaway root, twice: the unit, the Mosquitto drop-in,
the service user, the command on PATH, both services enabled; the second run changes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.fakes.system import fake_root, run_script, snapshot

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "firmware" / "install-central.sh"
AS_ROOT = os.geteuid() == 0


def _fake_root(root: Path) -> None:
    fake_root(root)
    units = root / "lib/systemd/system"
    units.mkdir(parents=True)
    # Debian's own unit, as the mosquitto package installs it.
    shutil.copy("/lib/systemd/system/mosquitto.service", units / "mosquitto.service")


def _install(root: Path) -> str:
    return run_script(SCRIPT, root)


def test_installing_into_a_throwaway_root_twice(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _fake_root(root)
    first = _install(root)
    assert "changed: /etc/systemd/system/kitchen-central.service" in first
    assert "skip: kitchen-central setup" in first
    unit = root / "etc/systemd/system/kitchen-central.service"
    assert unit.read_bytes() == (REPO / "systemd/kitchen-central.service").read_bytes()
    drop_in = root / "etc/systemd/system/mosquitto.service.d/kitchen.conf"
    assert drop_in.read_bytes() == (REPO / "systemd/mosquitto.service.d/kitchen.conf").read_bytes()
    for name in ("kitchen-central.service", "mosquitto.service"):
        wants = root / "etc/systemd/system/multi-user.target.wants" / name
        assert wants.is_symlink(), name
    link = root / "usr/local/bin/kitchen-central"
    assert os.readlink(link) == "/opt/kitchen/venv/bin/kitchen-central"
    if AS_ROOT:
        passwd = (root / "etc/passwd").read_text()
        assert "kitchen-central:" in passwd
        assert ":/var/lib/kitchen-central:/usr/sbin/nologin" in passwd

    before = snapshot(root)
    second = _install(root)
    assert "changed:" not in second
    assert second.strip().endswith("install-central: 0 changes")
    assert snapshot(root) == before


def test_unknown_option_fails() -> None:
    result = subprocess.run(["bash", str(SCRIPT), "--bogus"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown option" in result.stderr


def test_central_laptop_sample_validates() -> None:
    import tomllib

    from central.config import build_config

    path = REPO / "firmware" / "config" / "central-laptop.toml"
    config = build_config(tomllib.loads(path.read_text()), path.name)
    assert config.http.host == "127.0.0.1" and not config.tls.enabled
