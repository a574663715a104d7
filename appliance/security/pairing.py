"""Pairing codes: the short one-time code a device types to get its token.

Pure logic, no I/O: a code is drawn from ``secrets``, shown on the node's display and in its
log, expires after ``ttl`` seconds and dies after ``max_attempts`` wrong guesses. Failures are
also counted per client and for the node as a whole, so brute force is locked out even when a
client keeps asking for fresh codes. Time is a monotonic clock (a Pi's wall clock can jump).
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


class PairingFailure(StrEnum):
    """Why a pairing attempt was refused."""

    NO_CODE = "no_code"
    EXPIRED = "expired"
    WRONG = "wrong"
    LOCKED = "locked"
    TOO_MANY_CODES = "too_many_codes"


class PairingError(Exception):
    """A refused pairing step; ``retry_after`` (seconds) is set when locked out."""

    def __init__(self, reason: PairingFailure, detail: str, retry_after: float | None = None):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class PairingCode:
    """A code on offer: its digits and when (monotonic seconds) it expires."""

    code: str
    expires_at: float

    def remaining(self, now: float) -> float:
        """Seconds left before expiry (0 when expired)."""
        return max(0.0, self.expires_at - now)


@dataclass(slots=True)
class _Failures:
    """Failure times within a sliding window."""

    times: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0

    def prune(self, now: float, window: float) -> None:
        while self.times and now - self.times[0] > window:
            self.times.popleft()


def new_code(digits: int = CODE_DIGITS) -> str:
    """A uniformly random code of ``digits`` decimal digits (leading zeros kept)."""
    return f"{secrets.randbelow(10**digits):0{digits}d}"


class PairingCodes:
    """The node's pairing state: one live code at a time, attempts and lockouts."""

    def __init__(
        self,
        *,
        ttl: float = 300.0,
        max_attempts: int = 5,
        client_failures: int = 5,
        node_failures: int = 20,
        window: float = 900.0,
        lockout: float = 900.0,
        max_codes_per_window: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_attempts = max_attempts
        self.client_failures = client_failures
        self.node_failures = node_failures
        self.window = window
        self.lockout = lockout
        self.max_codes_per_window = max_codes_per_window
        self._clock = clock
        self._current: PairingCode | None = None
        self._attempts = 0
        self._clients: dict[str, _Failures] = {}
        self._node = _Failures()
        self._issued: deque[float] = deque()

    @property
    def current(self) -> PairingCode | None:
        """The live code, or None when there is none or it expired."""
        if self._current is not None and self._current.remaining(self._clock()) <= 0:
            self._current = None
        return self._current

    def start(self) -> PairingCode:
        """Offer a new code (replacing any live one); limited to a few codes per window."""
        now = self._clock()
        self._check_locks(None, now)
        while self._issued and now - self._issued[0] > self.window:
            self._issued.popleft()
        if len(self._issued) >= self.max_codes_per_window:
            retry = self.window - (now - self._issued[0])
            raise PairingError(
                PairingFailure.TOO_MANY_CODES, "Too many pairing codes requested.", retry
            )
        self._issued.append(now)
        self._current = PairingCode(new_code(), now + self.ttl)
        self._attempts = 0
        return self._current

    def cancel(self) -> None:
        """Withdraw the live code."""
        self._current = None

    def complete(self, code: str, client: str) -> None:
        """Check ``code`` from ``client``; on success the code is used up, else PairingError."""
        now = self._clock()
        self._check_locks(client, now)
        live = self._current
        if live is None:
            raise PairingError(PairingFailure.NO_CODE, "No pairing code is on offer: ask for one.")
        if live.remaining(now) <= 0:
            self._current = None
            raise PairingError(
                PairingFailure.EXPIRED, "The pairing code expired: ask for a new one."
            )
        candidate = code.strip() if isinstance(code, str) else ""
        # Constant-time: the comparison must not tell how many leading digits were right.
        if hmac.compare_digest(candidate.encode(), live.code.encode()):
            self._current = None
            self._clients.pop(client, None)
            return
        self._fail(client, now)
        self._attempts += 1
        if self._attempts >= self.max_attempts:
            self._current = None
            raise PairingError(
                PairingFailure.WRONG, "Wrong code; it is now void: ask for a new one."
            )
        raise PairingError(PairingFailure.WRONG, "Wrong code.")

    def _fail(self, client: str, now: float) -> None:
        """Record a failure for the client and the node; lock either past its limit."""
        entry = self._clients.setdefault(client, _Failures())
        for failures, limit in ((entry, self.client_failures), (self._node, self.node_failures)):
            failures.prune(now, self.window)
            failures.times.append(now)
            if len(failures.times) >= limit:
                failures.locked_until = now + self.lockout
                failures.times.clear()
                if failures is self._node:
                    self._current = None

    def _check_locks(self, client: str | None, now: float) -> None:
        """Raise LOCKED while the node, or this client, is locked out."""
        entries = [self._node]
        if client is not None and client in self._clients:
            entries.append(self._clients[client])
        for failures in entries:
            if failures.locked_until > now:
                raise PairingError(
                    PairingFailure.LOCKED,
                    "Too many wrong codes: pairing is locked for a while.",
                    failures.locked_until - now,
                )
