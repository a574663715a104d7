"""Pairing codes: the short one-time code a new device types to get its token.

Pure logic, no I/O. Who can make a code decides who can be attacked, so only two can:

- the node's display: a press of the scan box's button (or the node itself) offers the
  *display code*. A press always yields a fresh, usable code; nothing else replaces it, and
  no limit an attacker can reach applies to it;
- an already-paired device (``POST /api/pairing/start`` with its token) gets a code of its own
  to show the new device. Each device has at most one live code (its next request replaces
  only its own), and devices together get at most ``max_device_codes`` per ``code_window``.

Guesses are limited per code (``max_attempts`` wrong guesses void it, so the odds of one code
are fixed) and per client address (``client_failures`` wrong guesses within ``window`` refuse
that address alone for ``lockout`` seconds). There is no node-wide lockout: an attacker slows
only their own addresses, and at worst voids a code, which the next press replaces.
Time is a monotonic clock (a Pi's wall clock can jump).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

CODE_DIGITS = 6
#: The issuer of the code on the node's display.
DISPLAY = "display"


class PairingFailure(StrEnum):
    """Why a pairing attempt was refused."""

    NO_CODE = "no_code"
    EXPIRED = "expired"
    WRONG = "wrong"
    LOCKED = "locked"
    TOO_MANY_CODES = "too_many_codes"


class PairingError(Exception):
    """A refused pairing step; ``retry_after`` (seconds) is set when locked out.

    ``voided`` names the issuers whose code this failure used up (the display shows that).
    """

    def __init__(
        self,
        reason: PairingFailure,
        detail: str,
        retry_after: float | None = None,
        voided: tuple[str, ...] = (),
    ):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.retry_after = retry_after
        self.voided = voided


@dataclass(slots=True)
class PairingCode:
    """A code on offer: its digits, who asked for it, when (monotonic) it expires."""

    code: str
    expires_at: float
    issuer: str = DISPLAY
    wrong: int = 0

    def remaining(self, now: float) -> float:
        """Seconds left before expiry (0 when expired)."""
        return max(0.0, self.expires_at - now)


@dataclass(slots=True)
class _Failures:
    """One client's wrong guesses within a sliding window."""

    times: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0

    def prune(self, now: float, window: float) -> None:
        while self.times and now - self.times[0] > window:
            self.times.popleft()


def new_code(digits: int = CODE_DIGITS) -> str:
    """A uniformly random code of ``digits`` decimal digits (leading zeros kept)."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


class PairingCodes:
    """The node's live pairing codes, their guesses and the per-client lockouts."""

    def __init__(
        self,
        *,
        ttl: float = 300.0,
        max_attempts: int = 10,
        client_failures: int = 5,
        window: float = 900.0,
        lockout: float = 900.0,
        max_device_codes: int = 6,
        code_window: float = 3600.0,
        max_clients: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_attempts = max_attempts
        self.client_failures = client_failures
        self.window = window
        self.lockout = lockout
        self.max_device_codes = max_device_codes
        self.code_window = code_window
        self.max_clients = max_clients
        self._clock = clock
        self._codes: dict[str, PairingCode] = {}  # issuer -> its live code
        self._clients: dict[str, _Failures] = {}
        self._device_issued: deque[float] = deque()

    @property
    def current(self) -> PairingCode | None:
        """The display's live code, or None."""
        return self.live(DISPLAY)

    def live(self, issuer: str) -> PairingCode | None:
        """The live code of ``issuer``, or None when there is none or it expired."""
        self._expire(self._clock())
        return self._codes.get(issuer)

    def start(self, issuer: str = DISPLAY) -> PairingCode:
        """Offer a new code for ``issuer``, replacing only that issuer's previous code.

        The display's code is never refused; device codes are limited per ``code_window``.
        """
        now = self._clock()
        self._expire(now)
        if issuer != DISPLAY:
            while self._device_issued and now - self._device_issued[0] > self.code_window:
                self._device_issued.popleft()
            if len(self._device_issued) >= self.max_device_codes:
                retry = self.code_window - (now - self._device_issued[0])
                raise PairingError(
                    PairingFailure.TOO_MANY_CODES,
                    "Devices asked for too many pairing codes: use the node's pairing button.",
                    retry,
                )
            self._device_issued.append(now)
        taken = {c.code for i, c in self._codes.items() if i != issuer}
        code = new_code()
        while code in taken:  # two live codes are never the same (a guess names one code)
            code = new_code()
        offer = PairingCode(code, now + self.ttl, issuer)
        self._codes[issuer] = offer
        return offer

    def cancel(self, issuer: str = DISPLAY) -> None:
        """Withdraw ``issuer``'s live code."""
        self._codes.pop(issuer, None)

    def complete(self, code: str, client: str) -> str:
        """Check ``code`` from ``client``; returns the issuer of the code it used up.

        Raises PairingError when the client is locked out, no code is live, or it is wrong.
        """
        now = self._clock()
        self._check_lock(client, now)
        self._expire(now)
        if not self._codes:
            raise PairingError(
                PairingFailure.NO_CODE,
                "No pairing code is on offer: press the pairing button on the node, or ask "
                "on a paired device.",
            )
        candidate = (code.strip() if isinstance(code, str) else "").encode()
        match = None
        # Constant-time, and every live code is compared: timing tells neither how many
        # digits were right nor which code was close.
        for offer in list(self._codes.values()):
            if hmac.compare_digest(candidate, offer.code.encode()):
                match = offer
        if match is not None:
            del self._codes[match.issuer]
            self._clients.pop(client, None)
            return match.issuer
        voided = []
        for offer in list(self._codes.values()):
            offer.wrong += 1
            if offer.wrong >= self.max_attempts:
                del self._codes[offer.issuer]
                voided.append(offer.issuer)
        locked = self._fail(client, now)
        detail = "Wrong code."
        if voided:
            detail = "Wrong code; too many wrong codes voided it: ask for a new one."
        if locked:
            raise PairingError(
                PairingFailure.LOCKED,
                f"{detail} Too many wrong codes from this device: try again later.",
                self.lockout,
                tuple(voided),
            )
        raise PairingError(PairingFailure.WRONG, detail, voided=tuple(voided))

    def _expire(self, now: float) -> None:
        for issuer in [i for i, c in self._codes.items() if c.remaining(now) <= 0]:
            del self._codes[issuer]

    def _fail(self, client: str, now: float) -> bool:
        """Record a wrong guess of ``client``; True when that locks it out."""
        entry = self._clients.get(client)
        if entry is None:
            if len(self._clients) >= self.max_clients:
                self._forget_idle_clients(now)
            entry = self._clients[client] = _Failures()
        entry.prune(now, self.window)
        entry.times.append(now)
        if len(entry.times) >= self.client_failures:
            entry.locked_until = now + self.lockout
            entry.times.clear()
            return True
        return False

    def _forget_idle_clients(self, now: float) -> None:
        """Bound the memory of clients: drop those neither locked nor recently failing."""
        for key, entry in list(self._clients.items()):
            entry.prune(now, self.window)
            if entry.locked_until <= now and not entry.times:
                del self._clients[key]
        if len(self._clients) >= self.max_clients:
            # Every entry is live (a flood of addresses): forget the oldest lockouts first.
            oldest = sorted(self._clients, key=lambda k: self._clients[k].locked_until)
            for key in oldest[: len(oldest) // 2]:
                del self._clients[key]

    def _check_lock(self, client: str, now: float) -> None:
        """Raise LOCKED while this client is locked out."""
        entry = self._clients.get(client)
        if entry is not None and entry.locked_until > now:
            raise PairingError(
                PairingFailure.LOCKED,
                "Too many wrong codes from this device: try again later.",
                entry.locked_until - now,
            )
