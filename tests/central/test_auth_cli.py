"""``kitchen-central user ...`` and ``token ...`` against a real PostgreSQL database."""

from __future__ import annotations

import asyncio
import io
import sys

import asyncpg
import pytest

from central.cli import main


def _run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _fetch(dsn: str, sql: str) -> list[asyncpg.Record]:
    async def go() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    return asyncio.run(go())


def test_users_and_tokens_from_the_command_line(
    central_dsn: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITCHEN_CENTRAL_DSN", central_dsn)
    run = lambda *a, stdin="": _run(capsys, monkeypatch, *a, stdin=stdin)  # noqa: E731
    code, out, _ = run("user", "add", "Anna", "--password-stdin", stdin="correct horse\n")
    assert (code, out) == (0, "added 'Anna': log in on the dashboard\n")
    code, _, err = run("user", "add", "anna", "--password-stdin", stdin="other password\n")
    assert code == 1 and "exists already" in err
    code, _, err = run("user", "add", "Ben", "--password-stdin", stdin="short\n")
    assert code == 1 and "at least 8" in err
    code, out, _ = run("user", "list")
    assert code == 0 and out.startswith("Anna\t")
    [before] = _fetch(central_dsn, "SELECT password_hash FROM accounts")
    code, _, _ = run("user", "passwd", "ANNA", "--password-stdin", stdin="new password!\n")
    assert code == 0
    [after] = _fetch(central_dsn, "SELECT password_hash FROM accounts")
    assert after["password_hash"] != before["password_hash"]
    assert after["password_hash"].startswith("$argon2id$")

    code, out, err = run("token", "create", "--name", "grafana", "--scope", "read")
    assert code == 0 and out.startswith("kc_") and "shown only now" in err
    secret = out.strip()
    code, out, _ = run("token", "list")
    assert code == 0 and out.startswith("grafana\tread\t") and secret not in out
    [stored] = _fetch(central_dsn, "SELECT secret_hash FROM api_tokens")
    assert secret.encode() not in stored["secret_hash"]
    code, _, err = run("token", "create", "--name", "Grafana")
    assert code == 1 and "exists already" in err
    assert run("token", "revoke", "grafana")[0] == 0
    code, _, err = run("token", "revoke", "grafana")
    assert code == 1 and "no token" in err

    assert run("user", "remove", "anna")[0] == 0
    code, _, err = run("user", "remove", "anna")
    assert code == 1 and "no account" in err
    assert _fetch(central_dsn, "SELECT * FROM accounts") == []


def test_a_database_that_is_down_is_said_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KITCHEN_CENTRAL_DSN", "postgresql://postgres@127.0.0.1:9/nothing")
    code, _, err = _run(capsys, monkeypatch, "token", "list")
    assert code == 1 and "database is unavailable" in err
