"""A throwaway OS root for the firmware scripts, and reading and verifying systemd units:
what the node's and central's firmware and systemd tests share."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def fake_root(root: Path, groups: str = "root:x:0:\n", gshadow: str = "root:*::\n") -> None:
    """The few files of a Debian root the scripts read (``useradd --prefix`` needs them)."""
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/group").write_text(groups)
    (root / "etc/shadow").write_text("root:*:19000:0:99999:7:::\n")
    (root / "etc/gshadow").write_text(gshadow)


def snapshot(root: Path) -> dict[str, tuple[str, int, bytes]]:
    """Every file and link under ``root``: kind, mode and content (a second run's yardstick)."""
    snap = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            snap[rel] = ("link", 0, os.readlink(path).encode())
        elif path.is_file():
            snap[rel] = ("file", path.stat().st_mode & 0o7777, path.read_bytes())
    return snap


def run_script(script: Path, root: Path, *args: str) -> str:
    """Run a firmware script into ``root`` without pip; its output (it must succeed)."""
    result = subprocess.run(
        ["bash", str(script), "--root", str(root), "--no-pip", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def unit_values(path: Path) -> dict[str, list[str]]:
    """``Section.Key`` -> every value, in order (a key may repeat; ExecStart= resets)."""
    values: dict[str, list[str]] = {}
    section = ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        values.setdefault(f"{section}.{key}", []).append(value)
    return values


def verify_unit(unit: Path) -> None:
    """``systemd-analyze verify`` passes with nothing to say."""
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # Unknown keys and bad values are only warnings (exit 0): any output is a failure.
    assert result.stderr.strip() == "", result.stderr
