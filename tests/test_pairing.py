"""Pairing codes: format, expiry, attempts, lockouts (pure logic with a fake monotonic clock)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from appliance.api.keys import TOKENS
from appliance.api.pairing_routes import SESSION_COOKIE, setup_pairing
from appliance.app import build_app
from appliance.config import build_config
from appliance.core.messages import Message
from appliance.security.pairing import (
    PairingCodes,
    PairingError,
    PairingFailure,
    new_code,
)


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """A fresh fake clock."""
    return Clock()


def wrong(code: str) -> str:
    """A six-digit code that is not ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def reason(exc: pytest.ExceptionInfo[PairingError]) -> PairingFailure:
    """The failure reason of a caught PairingError."""
    return exc.value.reason


def test_codes_are_six_digits_and_vary() -> None:
    """Six decimal digits, leading zeros kept, not a constant."""
    codes = {new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 190


def test_right_code_pairs_once(clock: Clock) -> None:
    """The code works once; afterwards there is no code on offer."""
    pairing = PairingCodes(clock=clock)
    code = pairing.start().code
    pairing.complete(code, "10.0.0.5")
    with pytest.raises(PairingError) as exc:
        pairing.complete(code, "10.0.0.5")
    assert reason(exc) is PairingFailure.NO_CODE


def test_code_expires(clock: Clock) -> None:
    """After ttl seconds the code is refused as expired."""
    pairing = PairingCodes(ttl=300, clock=clock)
    code = pairing.start().code
    assert pairing.current is not None
    clock.now += 300.5
    assert pairing.current is None
    with pytest.raises(PairingError) as exc:
        pairing.complete(code, "ipad")
    assert reason(exc) in {PairingFailure.EXPIRED, PairingFailure.NO_CODE}


def test_new_code_replaces_the_old_one(clock: Clock) -> None:
    """Only the latest code is valid."""
    pairing = PairingCodes(clock=clock)
    old = pairing.start().code
    new = pairing.start().code
    if old != new:
        with pytest.raises(PairingError):
            pairing.complete(old, "ipad")
    pairing.complete(new, "ipad")


def test_code_is_void_after_max_wrong_attempts(clock: Clock) -> None:
    """Five wrong guesses (from anyone) kill the code, even the right one afterwards."""
    pairing = PairingCodes(max_attempts=5, client_failures=100, clock=clock)
    code = pairing.start().code
    for i in range(5):
        with pytest.raises(PairingError) as exc:
            pairing.complete(wrong(code), f"client-{i}")
        assert reason(exc) is PairingFailure.WRONG
    with pytest.raises(PairingError) as exc:
        pairing.complete(code, "client-0")
    assert reason(exc) is PairingFailure.NO_CODE


def test_malformed_input_counts_as_wrong(clock: Clock) -> None:
    """Non-digits, short codes and padding tricks are just wrong codes."""
    pairing = PairingCodes(clock=clock)
    code = pairing.start().code
    for guess in ("", "abc", code[:5], code + "0"):
        with pytest.raises(PairingError) as exc:
            pairing.complete(guess, "ipad")
        assert reason(exc) is PairingFailure.WRONG
    pairing.complete(f" {code} ", "ipad")


def test_client_locked_out_after_repeated_failures(clock: Clock) -> None:
    """A client that keeps failing is locked for the lockout time, others are not."""
    pairing = PairingCodes(client_failures=3, max_attempts=100, lockout=600, clock=clock)
    code = pairing.start().code
    for _ in range(3):
        with pytest.raises(PairingError):
            pairing.complete(wrong(code), "attacker")
    with pytest.raises(PairingError) as exc:
        pairing.complete(code, "attacker")
    assert reason(exc) is PairingFailure.LOCKED
    assert exc.value.retry_after == pytest.approx(600)
    pairing.complete(code, "kitchen-ipad")
    clock.now += 601
    code = pairing.start().code
    pairing.complete(code, "attacker")


def test_node_wide_lockout_stops_distributed_guessing(clock: Clock) -> None:
    """Failures from many clients add up: past the node limit nobody can pair or get a code."""
    pairing = PairingCodes(
        node_failures=6, client_failures=100, max_attempts=3, lockout=900, clock=clock
    )
    for i in range(6):
        if pairing.current is None:
            code = pairing.start().code
        with pytest.raises(PairingError):
            pairing.complete(wrong(code), f"10.0.0.{i}")
    with pytest.raises(PairingError) as exc:
        pairing.start()
    assert reason(exc) is PairingFailure.LOCKED
    clock.now += 901
    code = pairing.start().code
    pairing.complete(code, "10.0.0.99")


def test_failures_outside_the_window_are_forgotten(clock: Clock) -> None:
    """Old failures slide out of the window and do not lock."""
    pairing = PairingCodes(client_failures=3, max_attempts=100, window=60, clock=clock)
    code = pairing.start().code
    for _ in range(2):
        with pytest.raises(PairingError):
            pairing.complete(wrong(code), "ipad")
    clock.now += 61
    code = pairing.start().code
    with pytest.raises(PairingError) as exc:
        pairing.complete(wrong(code), "ipad")
    assert reason(exc) is PairingFailure.WRONG
    pairing.complete(code, "ipad")


def test_code_requests_are_rate_limited(clock: Clock) -> None:
    """Asking for fresh codes over and over is capped per window."""
    pairing = PairingCodes(max_codes_per_window=3, window=60, clock=clock)
    for _ in range(3):
        pairing.start()
    with pytest.raises(PairingError) as exc:
        pairing.start()
    assert reason(exc) is PairingFailure.TOO_MANY_CODES
    assert exc.value.retry_after == pytest.approx(60)
    clock.now += 61
    pairing.start()


# --- the routes, on a real aiohttp server ------------------------------------------------------


class MemoryTokens:
    """A token store with the interface of appliance.security.tokens.TokenStore."""

    def __init__(self) -> None:
        self.devices: dict[str, str] = {}

    def create(self, name: str) -> str:
        token = f"tok-{len(self.devices) + 1}-secret"
        self.devices[token] = name
        return token

    async def list(self) -> list[dict[str, str]]:
        return [{"id": t[:5], "name": n} for t, n in self.devices.items()]

    def revoke(self, token_id: str) -> bool:
        for token in list(self.devices):
            if token.startswith(token_id):
                del self.devices[token]
                return True
        return False


@pytest.fixture
async def pairing_server(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
) -> tuple[TestServer, MemoryTokens, list[Message]]:
    """A server with the pairing routes, its token store and the announced messages."""
    tokens = MemoryTokens()
    shown: list[Message] = []
    app = web.Application()
    setup_pairing(app, tokens, shown.append, PairingCodes(client_failures=3))
    return await aiohttp_server(app), tokens, shown


async def test_pairing_sets_an_httponly_session_cookie(
    pairing_server: tuple[TestServer, MemoryTokens, list[Message]],
) -> None:
    """The code goes to the display; the right code gives a cookie, never a token in the body."""
    server, tokens, shown = pairing_server
    async with aiohttp.ClientSession(base_url=server.make_url("/")) as session:
        async with session.post("/api/pairing/start") as resp:
            assert resp.status == 202
            assert (await resp.json())["digits"] == 6
        (message,) = shown
        assert message.type == "pairing.code"
        code = message.data["code"]
        async with session.post(
            "/api/pairing/complete", json={"code": wrong(code), "name": "iPad"}
        ) as resp:
            assert resp.status == 400
            assert resp.content_type == "application/problem+json"
        async with session.post(
            "/api/pairing/complete", json={"code": code, "name": "iPad"}
        ) as resp:
            assert resp.status == 200
            text = await resp.text()
            cookie = resp.cookies[SESSION_COOKIE]
        assert cookie.value == "tok-1-secret" and "tok-1" not in text
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
        assert tokens.devices == {"tok-1-secret": "iPad"}
        async with session.get("/api/devices") as resp:
            assert (await resp.json())["items"] == [{"id": "tok-1", "name": "iPad"}]
        async with session.delete("/api/devices/tok-1") as resp:
            assert resp.status == 204
        async with session.delete("/api/devices/tok-1") as resp:
            assert resp.status == 404
    assert shown[-1].type == "pairing.completed"


async def test_pairing_refuses_cross_origin_and_locks_out_guessers(
    pairing_server: tuple[TestServer, MemoryTokens, list[Message]],
) -> None:
    """A foreign Origin is refused; repeated wrong codes give 429 with Retry-After."""
    server, tokens, shown = pairing_server
    async with aiohttp.ClientSession(base_url=server.make_url("/")) as session:
        async with session.post(
            "/api/pairing/start", headers={"Origin": "http://evil.test"}
        ) as resp:
            assert resp.status == 403
        assert not shown
        async with session.post("/api/pairing/start") as resp:
            assert resp.status == 202
        code = shown[0].data["code"]
        for _ in range(3):
            async with session.post(
                "/api/pairing/complete", json={"code": wrong(code), "name": "x"}
            ) as resp:
                assert resp.status == 400
        async with session.post("/api/pairing/complete", json={"code": code, "name": "x"}) as resp:
            assert resp.status == 429
            assert int(resp.headers["Retry-After"]) > 0
        async with session.post(
            "/api/pairing/complete", json={"code": 123456, "name": "x"}
        ) as resp:
            assert resp.status == 422
    assert not tokens.devices


async def test_pairing_status_tells_a_browser_whether_it_is_paired(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]], tmp_path: Path
) -> None:
    """On a real node: no cookie or a revoked one is unpaired; a paired cookie names its device."""
    app = await build_app(build_config({"storage": {"data_dir": str(tmp_path)}}))
    server = await aiohttp_server(app)
    token_id, token = await app[TOKENS].create("iPad", kind="paired")
    async with aiohttp.ClientSession(base_url=server.make_url("/")) as session:
        async with session.get("/api/pairing/status") as resp:
            assert resp.headers["Cache-Control"] == "no-store"
            assert await resp.json() == {"paired": False, "device_id": None}
        cookies = {SESSION_COOKIE: token}
        async with session.get("/api/pairing/status", cookies=cookies) as resp:
            assert await resp.json() == {"paired": True, "device_id": token_id}
        async with session.get(
            "/api/pairing/status", cookies={SESSION_COOKIE: "kn_forged"}
        ) as resp:
            assert (await resp.json())["paired"] is False
        await app[TOKENS].revoke(token_id)
        async with session.get("/api/pairing/status", cookies=cookies) as resp:
            assert (await resp.json())["paired"] is False
