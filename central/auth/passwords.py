"""Password hashing with argon2id (argon2-cffi), off the event loop and bounded in parallel.

Each hash takes argon2-cffi's default 64 MiB and three passes; a semaphore keeps a flood of
logins from hashing more than a few at once (memory and both cores would go to it).
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD = 8
MAX_PASSWORD = 1024


class PasswordError(ValueError):
    """A password that is not accepted (too short, too long)."""


def check_password(password: str) -> str:
    """The password if it is acceptable; raise PasswordError saying why not."""
    if len(password) < MIN_PASSWORD:
        raise PasswordError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise PasswordError(f"the password must have at most {MAX_PASSWORD} characters")
    return password


class Passwords:
    """Hash and verify passwords in worker threads, at most ``concurrency`` at once."""

    def __init__(self, concurrency: int = 2, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        """The argon2id hash of ``password`` (checked first)."""
        check_password(password)
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """True when ``password`` matches ``stored``.

        ``stored`` None (no such account) is checked against a dummy hash, so that a wrong
        name takes as long as a wrong password and does not reveal which names exist.
        """
        if len(password) > MAX_PASSWORD:
            return False
        if self._dummy is None:
            async with self._slots:
                self._dummy = await asyncio.to_thread(self._hasher.hash, "not a password")
        target = stored if stored is not None else self._dummy
        async with self._slots:
            ok = await asyncio.to_thread(self._verify, target, password)
        return ok and stored is not None

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
