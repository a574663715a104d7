"""``kitchen-node token create --role`` and ``token list`` show who may manage devices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from appliance.cli import main


@pytest.fixture(autouse=True)
def _no_outside_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KITCHEN_CONFIG", raising=False)


def test_token_roles_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["token", "create", "--name", "laptop", *data]) == 0
    assert main(["token", "create", "--name", "tablet", "--role", "kitchen", *data]) == 0
    capsys.readouterr()
    assert main(["token", "list", *data]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {(t["name"], t["kind"], t["role"]) for t in listed} == {
        ("laptop", "cli", "owner"),
        ("tablet", "cli", "kitchen"),
    }
    with pytest.raises(SystemExit):
        main(["token", "create", "--role", "root", *data])
