"""firmware/install-central.sh against a throwaway root, twice: the unit, the Mosquitto drop-in,
the service user, the command on PATH, both services enabled; the second run changes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "firmware" / "install-central.sh"
AS_ROOT = os.geteuid() == 0


def _fake_root(root: Path) -> None:
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\n")
    (root / "etc/shadow").write_text("root:*:19000:0:99999:7:::\n")
    (root / "etc/gshadow").write_text("root:*::\n")
    units = root / "lib/systemd/system"
    units.mkdir(parents=True)
    # Debian's own unit, as the mosquitto package installs it.
    shutil.copy("/lib/systemd/system/mosquitto.service", units / "mosquitto.service")


def _snapshot(root: Path) -> dict[str, tuple[str, int, bytes]]:
    snap = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            snap[rel] = ("link", 0, os.readlink(path).encode())
        elif path.is_file():
            snap[rel] = ("file", path.stat().st_mode & 0o7777, path.read_bytes())
    return snap


def _install(root: Path) -> str:
    result = subprocess.run(
        ["bash", str(SCRIPT), "--root", str(root), "--no-pip"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


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

    before = _snapshot(root)
    second = _install(root)
    assert "changed:" not in second
    assert second.strip().endswith("install-central: 0 changes")
    assert _snapshot(root) == before


def test_unknown_option_fails() -> None:
    result = subprocess.run(["bash", str(SCRIPT), "--bogus"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown option" in result.stderr


def test_central_laptop_sample_validates() -> None:
    import tomllib

    from central.config import build_config

    path = REPO / "firmware" / "config" / "central-laptop.toml"
    config = build_config(tomllib.loads(path.read_text()), path.name)
    assert config.http.host == "127.0.0.1" and not config.tls.enabled
