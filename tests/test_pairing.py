"""Pairing: who can make a code, guesses per code and per client, no node-wide lockout.

The first half is the pure logic with a fake monotonic clock; the second half runs a real node
(aiohttp server, SQLite) with clients from several loopback addresses.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from appliance.api.keys import DISPATCHER, TOKENS
from appliance.api.pairing_routes import PAIRING_KEY, SESSION_COOKIE
from appliance.app import build_app, pairing_url
from appliance.config import build_config
from appliance.core.messages import Message
from appliance.security.pairing import (
    DISPLAY,
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


def test_a_new_display_code_replaces_only_the_display_code(clock: Clock) -> None:
    """A press replaces the display's code; a device's code lives beside it."""
    pairing = PairingCodes(clock=clock)
    old = pairing.start().code
    device = pairing.start("device:a").code
    new = pairing.start().code
    assert pairing.current is not None and pairing.current.code == new
    if old not in (new, device):
        with pytest.raises(PairingError):
            pairing.complete(old, "ipad")
    assert pairing.complete(device, "ipad") == "device:a"
    assert pairing.complete(new, "ipad") == DISPLAY


def test_a_device_request_never_replaces_the_display_code(clock: Clock) -> None:
    """Regression: each start replaced the code the person was reading off the display."""
    pairing = PairingCodes(max_device_codes=100, clock=clock)
    shown = pairing.start().code
    for i in range(20):
        pairing.start(f"device:{i % 3}")
    assert pairing.current is not None and pairing.current.code == shown
    assert pairing.complete(shown, "ipad") == DISPLAY


def test_device_codes_are_limited_the_display_code_never(clock: Clock) -> None:
    """Regression: ten requests used up the code budget, and then the button failed too."""
    pairing = PairingCodes(max_device_codes=3, code_window=3600, clock=clock)
    for _ in range(3):
        pairing.start("device:a")
    with pytest.raises(PairingError) as exc:
        pairing.start("device:b")
    assert reason(exc) is PairingFailure.TOO_MANY_CODES
    assert exc.value.retry_after == pytest.approx(3600)
    for _ in range(50):
        code = pairing.start().code  # the button: always a usable code
    assert pairing.complete(code, "ipad") == DISPLAY
    clock.now += 3601
    pairing.start("device:b")


def test_code_is_void_after_max_wrong_guesses(clock: Clock) -> None:
    """Ten wrong guesses (from anyone) void a code, even the right one afterwards."""
    pairing = PairingCodes(max_attempts=10, client_failures=100, clock=clock)
    code = pairing.start().code
    for i in range(9):
        with pytest.raises(PairingError) as exc:
            pairing.complete(wrong(code), f"client-{i}")
        assert reason(exc) is PairingFailure.WRONG and not exc.value.voided
    with pytest.raises(PairingError) as exc:
        pairing.complete(wrong(code), "client-9")
    assert exc.value.voided == (DISPLAY,)
    with pytest.raises(PairingError) as exc:
        pairing.complete(code, "client-0")
    assert reason(exc) is PairingFailure.NO_CODE
    # The next press yields a usable code.
    assert pairing.complete(pairing.start().code, "client-0") == DISPLAY


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
    for _ in range(2):
        with pytest.raises(PairingError) as exc:
            pairing.complete(wrong(code), "attacker")
        assert reason(exc) is PairingFailure.WRONG
    with pytest.raises(PairingError) as exc:
        pairing.complete(wrong(code), "attacker")
    assert reason(exc) is PairingFailure.LOCKED
    with pytest.raises(PairingError) as exc:
        pairing.complete(code, "attacker")
    assert reason(exc) is PairingFailure.LOCKED
    assert exc.value.retry_after == pytest.approx(600)
    pairing.complete(code, "kitchen-ipad")
    clock.now += 601
    code = pairing.start().code
    pairing.complete(code, "attacker")


def test_no_node_wide_lockout(clock: Clock) -> None:
    """Regression: 20 wrong guesses from 4 addresses locked pairing for everyone for 15 min."""
    pairing = PairingCodes(clock=clock)
    for i in range(40):
        if pairing.current is None:
            pairing.start()
        assert pairing.current is not None
        with contextlib.suppress(PairingError):
            pairing.complete(wrong(pairing.current.code), f"10.0.0.{i % 8}")
    code = pairing.start().code
    assert pairing.complete(code, "10.0.0.99") == DISPLAY


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


def test_memory_of_clients_is_bounded(clock: Clock) -> None:
    """A flood of addresses cannot grow the table of failures without bound."""
    pairing = PairingCodes(max_clients=50, max_attempts=10_000, clock=clock)
    code = pairing.start().code
    for i in range(500):
        with pytest.raises(PairingError):
            pairing.complete(wrong(code), f"10.1.{i // 256}.{i % 256}")
    assert len(pairing._clients) <= 50


# --- the routes, on a real node -----------------------------------------------------------------


@dataclass
class PairingNode:
    """A running node, its owner token and the messages it announced."""

    app: web.Application
    server: TestServer
    owner: str
    shown: list[Message]

    def session(self, address: str = "127.0.0.1") -> aiohttp.ClientSession:
        """A client whose connections come from ``address`` (any 127.x is loopback)."""
        connector = aiohttp.TCPConnector(local_addr=(address, 0))
        return aiohttp.ClientSession(
            base_url=self.server.make_url("/"),
            connector=connector,
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # keep cookies of an IP address
        )

    def press(self) -> str:
        """What a long press of the pairing button does: a code on the display."""
        return self.app[PAIRING_KEY].start(DISPLAY).code


@pytest.fixture
async def pairing_node(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]], tmp_path: Path
) -> PairingNode:
    """A node with the default configuration and an owner token."""
    app = await build_app(build_config({"storage": {"data_dir": str(tmp_path)}}))
    shown: list[Message] = []
    app[DISPATCHER].add(Recorder(shown))
    server = await aiohttp_server(app)
    _, owner = await app[TOKENS].create("owner")
    return PairingNode(app, server, owner, shown)


class Recorder:
    """An outlet that keeps every message."""

    def __init__(self, seen: list[Message]) -> None:
        self.seen = seen

    def deliver(self, message: Message) -> None:
        self.seen.append(message)


async def test_anonymous_calls_cannot_start_or_replace_a_code(pairing_node: PairingNode) -> None:
    """Regression: unauthenticated POST /api/pairing/start replaced the code on the display."""
    shown = pairing_node.press()
    async with pairing_node.session() as session:
        for _ in range(12):
            async with session.post("/api/pairing/start", json={}) as resp:
                assert resp.status == 401
    assert pairing_node.app[PAIRING_KEY].current is not None
    assert pairing_node.app[PAIRING_KEY].current.code == shown
    assert not [m for m in pairing_node.shown if m.type == "pairing.code"]


async def test_the_display_code_pairs_with_an_httponly_cookie(pairing_node: PairingNode) -> None:
    """The code goes to the display; the right code gives a cookie, never a token in the body."""
    code = pairing_node.press()
    async with pairing_node.session() as session:
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
        assert cookie.value.startswith("kn_") and cookie.value not in text
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
        async with session.get("/api/pairing/status") as resp:
            status = await resp.json()
        assert (status["paired"], status["name"], status["role"]) == (True, "iPad", "kitchen")
        assert status["station_id"].startswith("ipad-")
    assert [m.type for m in pairing_node.shown][-1] == "pairing.completed"


async def test_a_paired_device_gets_a_code_for_a_new_one(pairing_node: PairingNode) -> None:
    """A paired device asks for a code (answered to it, not shown); the new device pairs."""
    on_display = pairing_node.press()
    _, ipad = await pairing_node.app[TOKENS].create("iPad", kind="paired")
    async with pairing_node.session() as session:
        headers = {"Authorization": f"Bearer {ipad}"}
        async with session.post("/api/pairing/start", json={}, headers=headers) as resp:
            assert resp.status == 201
            offer = await resp.json()
        assert len(offer["code"]) == 6 and offer["url"].endswith(f"#/pair?code={offer['code']}")
    async with (
        pairing_node.session("127.0.0.2") as session,
        session.post(
            "/api/pairing/complete", json={"code": offer["code"], "name": "Phone"}
        ) as resp,
    ):
        assert resp.status == 200
    current = pairing_node.app[PAIRING_KEY].current
    assert current is not None and current.code == on_display
    assert "pairing.completed" not in [m.type for m in pairing_node.shown]


async def test_guessers_lock_out_only_their_own_address(pairing_node: PairingNode) -> None:
    """Regression: wrong guesses from four addresses locked pairing node-wide for 15 minutes."""
    guess = wrong(pairing_node.press())
    for address in ("127.0.0.11", "127.0.0.12"):
        async with pairing_node.session(address) as session:
            statuses = []
            for _ in range(6):
                async with session.post(
                    "/api/pairing/complete", json={"code": guess, "name": "x"}
                ) as resp:
                    statuses.append(resp.status)
                    if resp.status == 429:
                        assert int(resp.headers["Retry-After"]) > 0
            # Five wrong guesses lock out this address alone (the fifth answers 429).
            assert statuses == [400, 400, 400, 400, 429, 429], address
    # Ten wrong guesses void the display's code, and the display says so.
    assert pairing_node.app[PAIRING_KEY].current is None
    assert "pairing.cancelled" in [m.type for m in pairing_node.shown]
    # Nothing is locked node-wide: the next press pairs another address at once.
    code = pairing_node.press()
    async with pairing_node.session("127.0.0.11") as locked, pairing_node.session() as other:
        async with locked.post("/api/pairing/complete", json={"code": code, "name": "x"}) as r:
            assert r.status == 429  # still locked: that address alone
        async with other.post("/api/pairing/complete", json={"code": code, "name": "iPad"}) as r:
            assert r.status == 200


async def test_pairing_refuses_cross_origin_and_bad_bodies(pairing_node: PairingNode) -> None:
    code = pairing_node.press()
    async with pairing_node.session() as session:
        for origin in ("http://evil.test", "null"):
            async with session.post(
                "/api/pairing/complete",
                json={"code": code, "name": "x"},
                headers={"Origin": origin},
            ) as resp:
                assert resp.status == 403
        for body in ({"code": 123456, "name": "x"}, {"code": code}, {"code": code, "name": "\x07"}):
            async with session.post("/api/pairing/complete", json=body) as resp:
                assert resp.status == 422, body
                assert resp.content_type == "application/problem+json"
        async with session.post("/api/pairing/complete", data="{") as resp:
            assert resp.status in (400, 415)
    current = pairing_node.app[PAIRING_KEY].current
    assert current is not None and current.code == code  # nothing counted as a guess


async def test_pairing_status_tells_a_browser_whether_it_is_paired(
    pairing_node: PairingNode,
) -> None:
    """No cookie or a revoked one is unpaired; a paired cookie names its device and role."""
    app = pairing_node.app
    token_id, token = await app[TOKENS].create("iPad", kind="paired")
    async with pairing_node.session() as session:
        async with session.get("/api/pairing/status") as resp:
            assert resp.headers["Cache-Control"] == "no-store"
            assert await resp.json() == {"paired": False, "device_id": None}
        cookies = {SESSION_COOKIE: token}
        async with session.get("/api/pairing/status", cookies=cookies) as resp:
            status = await resp.json()
        assert (status["paired"], status["device_id"], status["role"]) == (
            True,
            token_id,
            "kitchen",
        )
        async with session.get(
            "/api/pairing/status", cookies={SESSION_COOKIE: "kn_forged"}
        ) as resp:
            assert (await resp.json())["paired"] is False
        await app[TOKENS].revoke(token_id)
        async with session.get("/api/pairing/status", cookies=cookies) as resp:
            assert (await resp.json())["paired"] is False


async def test_a_failing_pairing_button_is_logged_in_one_clear_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Regression: the button's failure came out as a bare traceback from the input worker."""
    from gpiozero.pins.mock import MockFactory

    from appliance.hardware.box import build_scan_box
    from tests.hardware.hwfakes import FakeControl

    async def broken(station_id: str) -> None:
        raise RuntimeError("the code store is gone")

    config = build_config(
        {
            "scanner": {"type": "none", "station_id": "box"},
            "display": {"type": "dummy"},
            "buttons": {"type": "mock", "hold_seconds": 0.05,
                        "buttons": [{"name": "pair", "pin": 22, "press": "none",
                                     "hold": "pairing"}]},
        }
    )  # fmt: skip
    factory = MockFactory()
    control = FakeControl()
    box = build_scan_box(config, control, pairing=broken, pin_factory=factory)
    await box.start()
    try:
        with caplog.at_level(logging.ERROR):
            await box._action("pairing")
        (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert record.exc_info is None
        assert "no pairing code" in record.getMessage()
        assert "the code store is gone" in record.getMessage()
        assert box.display is not None and box.display.state.screen == "error"
    finally:
        await box.close()
        factory.close()


@pytest.mark.parametrize(
    ("http", "tls", "expected"),
    [
        ({"host": "127.0.0.1", "port": 8080}, {}, "http://127.0.0.1:8080/#/pair?code=123456"),
        ({"host": "::1", "port": 8080}, {}, "http://[::1]:8080/#/pair?code=123456"),
        ({"host": "192.0.2.7", "port": 80}, {}, "http://192.0.2.7:80/#/pair?code=123456"),
        ({"host": "0.0.0.0"}, {}, "http://{name}.local:8080/#/pair?code=123456"),
        ({"host": "127.0.0.1"}, {"enabled": True}, "https://127.0.0.1:8443/#/pair?code=123456"),
    ],
)
def test_pairing_links_name_the_address_the_node_serves(
    tmp_path: Path, http: dict[str, object], tls: dict[str, object], expected: str
) -> None:
    """Regression: a node listening on 127.0.0.1 logged and showed a link to <host>.local."""
    config = build_config({"storage": {"data_dir": str(tmp_path)}, "http": http, "tls": tls})
    name = socket.gethostname().split(".")[0]
    assert pairing_url(config, "123456") == expected.format(name=name)
