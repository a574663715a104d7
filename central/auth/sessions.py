"""Login sessions in PostgreSQL: only a hash of the session id is stored.

A session ends when it has not been used for ``idle`` seconds or is older than ``max_age``
seconds, whichever comes first. ``last_seen`` is written at most once a minute per session,
so reading the dashboard does not turn every request into a database write.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import asyncpg

_TOUCH_EVERY = 60.0  # seconds between last_seen writes of one session


@dataclass(frozen=True, slots=True)
class Session:
    """A valid session: whose it is and its CSRF token."""

    id_hash: bytes
    account_id: int
    name: str
    csrf: str


def hash_secret(secret: str) -> bytes:
    """SHA-256 of a session id or token (256 random bits each; a slow hash adds nothing)."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


async def start(
    db: asyncpg.Pool, account_id: int, address: str | None, idle: float, max_age: float
) -> tuple[str, str]:
    """Open a session; return (session id for the cookie, CSRF token).

    Expired sessions (of any account) are deleted on the way, so the table holds only live
    ones plus those that expired since the last login.
    """
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            """DELETE FROM auth_sessions
                WHERE last_seen <= now() - make_interval(secs => $1)
                   OR created_at <= now() - make_interval(secs => $2)""",
            idle,
            max_age,
        )
        await conn.execute(
            """INSERT INTO auth_sessions (id_hash, account_id, csrf, address)
               VALUES ($1, $2, $3, $4)""",
            hash_secret(session_id),
            account_id,
            csrf,
            address,
        )
    return session_id, csrf


async def check(db: asyncpg.Pool, session_id: str, idle: float, max_age: float) -> Session | None:
    """The session behind a cookie value, or None when unknown or expired."""
    id_hash = hash_secret(session_id)
    row = await db.fetchrow(
        """SELECT s.account_id, a.name, s.csrf,
                  s.last_seen < now() - make_interval(secs => $4) AS stale
             FROM auth_sessions s JOIN accounts a ON a.id = s.account_id
            WHERE s.id_hash = $1
              AND s.last_seen > now() - make_interval(secs => $2)
              AND s.created_at > now() - make_interval(secs => $3)""",
        id_hash,
        idle,
        max_age,
        _TOUCH_EVERY,
    )
    if row is None:
        return None
    if row["stale"]:
        await db.execute("UPDATE auth_sessions SET last_seen = now() WHERE id_hash = $1", id_hash)
    return Session(id_hash, row["account_id"], row["name"], row["csrf"])


async def end(db: asyncpg.Pool, id_hash: bytes) -> None:
    """End one session."""
    await db.execute("DELETE FROM auth_sessions WHERE id_hash = $1", id_hash)


async def end_all(db: asyncpg.Pool, account_id: int) -> int:
    """End every session of an account; return how many there were."""
    result = await db.execute("DELETE FROM auth_sessions WHERE account_id = $1", account_id)
    return int(result.split()[-1])
