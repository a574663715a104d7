"""The kitchen-node command: configuration printing and validation, tokens."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.cli import main
from appliance.security.tokens import TokenStore
from appliance.store import Store


@pytest.fixture(autouse=True)
def _no_outside_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KITCHEN_CONFIG", raising=False)
    monkeypatch.delenv("KITCHEN_DATA_DIR", raising=False)


def test_config_prints_the_effective_configuration_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        """
[node]
id = "pantry"
[http]
port = 9000
[sync]
enabled = true
username = "pantry"
password = "hunter2-secret"
[labels]
webhook = "http://printer:label-pass@127.0.0.1:8013/api/print/grocy"
""",
        encoding="utf-8",
    )
    assert main(["config", "--config", str(config), "--data-dir", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "hunter2-secret" not in out
    printed = json.loads(out)
    assert printed["node"]["id"] == "pantry"
    assert printed["http"]["port"] == 9000
    assert printed["storage"]["data_dir"] == str(tmp_path / "d")
    assert printed["sync"]["username"] == "pantry"
    assert printed["sync"]["password"] and set(printed["sync"]["password"]) == {"*"}
    # The label printer's URL keeps its host and user, never its password.
    assert "label-pass" not in out
    assert printed["labels"]["webhook"] == "http://printer:********@127.0.0.1:8013/api/print/grocy"
    # Defaults are printed too.
    assert printed["modes"]["default"] == "add"


def test_config_lists_every_error_with_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        """
colour = "red"
[http]
prot = 8080
port = 70000
[modes]
default = "fly"
[scanner]
type = "laser"
[storage]
data_dir = "x"
unknown_too = 1
""",
        encoding="utf-8",
    )
    assert main(["config", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    for key in (
        "colour: unknown key",
        "http.prot: unknown key",
        "http.port",
        "modes.default",
        "scanner.type",
        "storage.unknown_too: unknown key",
    ):
        assert key in err, (key, err)
    assert str(config) in err


def test_config_file_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err
    broken = tmp_path / "broken.toml"
    broken.write_text("[http\nport = ", encoding="utf-8")
    assert main(["config", "--config", str(broken)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_token_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["token", "create", "--name", "ipad", *data]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("kn_")
    assert main(["token", "list", *data]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in listed] == ["ipad"]
    assert token not in json.dumps(listed)  # only its hash is kept
    assert main(["token", "revoke", listed[0]["id"], *data]) == 0
    assert main(["token", "revoke", listed[0]["id"], *data]) == 1
    assert "no active token" in capsys.readouterr().err


def test_token_create_in_a_real_process(tmp_path: Path) -> None:
    command = shutil.which("kitchen-node", path=str(Path(sys.executable).parent))
    assert command is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITCHEN_")}
    result = subprocess.run(
        [command, "token", "create", "--name", "laptop", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("kn_") and "\n" not in token
    asyncio.run(_check_token(tmp_path, token))


async def _check_token(data_dir: Path, token: str) -> None:
    store = await Store.open(data_dir / "kitchen.sqlite3", "kitchen")
    try:
        tokens = TokenStore(store)
        assert await tokens.verify(token) is not None
        assert await tokens.verify(token + "x") is None
        rows = await store.reader.execute_fetchall("SELECT hash FROM tokens")
        assert token not in {row[0] for row in rows}
    finally:
        await store.close()


def test_tls_init_creates_a_household_ca_that_another_node_can_share(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["tls", "init", "--data-dir", str(first)]) == 0
    printed = capsys.readouterr().out
    assert "CA:" in printed and "SHA-256" in printed
    assert (first / "tls" / "server.crt").exists()
    assert oct((first / "tls" / "ca.key").stat().st_mode & 0o777) == "0o600"
    ca = (first / "tls" / "ca.crt", first / "tls" / "ca.key")
    assert main(["tls", "init", "--data-dir", str(second), "--import-ca", *map(str, ca)]) == 0
    assert (second / "tls" / "ca.crt").read_bytes() == ca[0].read_bytes()


def test_barcodes_prints_the_mode_sheet(tmp_path: Path) -> None:
    out = tmp_path / "modes.png"
    assert main(["barcodes", "--out", str(out)]) == 0
    assert out.stat().st_size > 1000
