"""Household accounts in PostgreSQL: names unique without regard to case, argon2id hashes."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import asyncpg

MAX_NAME = 64


class AccountError(ValueError):
    """An account operation that cannot be done (bad name, name taken, no such account)."""


@dataclass(frozen=True, slots=True)
class Account:
    """One household account."""

    id: int
    name: str
    password_hash: str


def check_name(name: str) -> str:
    """The account name without surrounding spaces; raise AccountError when it is unusable."""
    name = name.strip()
    if not name:
        raise AccountError("the name must not be empty")
    if len(name) > MAX_NAME:
        raise AccountError(f"the name must have at most {MAX_NAME} characters")
    if any(unicodedata.category(c)[0] in ("C", "Z") and c != " " for c in name):
        raise AccountError("the name must not contain control characters or line breaks")
    return name


async def create(db: asyncpg.Pool | asyncpg.Connection, name: str, password_hash: str) -> Account:
    """Add an account; raise AccountError when the name is taken (in any case)."""
    name = check_name(name)
    try:
        row = await db.fetchrow(
            "INSERT INTO accounts (name, password_hash) VALUES ($1, $2) RETURNING id",
            name,
            password_hash,
        )
    except asyncpg.UniqueViolationError:
        raise AccountError(f"an account named {name!r} exists already") from None
    assert row is not None
    return Account(row["id"], name, password_hash)


async def create_first(pool: asyncpg.Pool, name: str, password_hash: str) -> Account | None:
    """Add the first account; None (and nothing written) when any account exists already.

    The table lock makes two first-visit setups at once end with one account, not two.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE accounts IN EXCLUSIVE MODE")
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM accounts)"):
            return None
        return await create(conn, name, password_hash)


async def find(db: asyncpg.Pool, name: str) -> Account | None:
    """The account called ``name`` (any case), or None."""
    row = await db.fetchrow(
        "SELECT id, name, password_hash FROM accounts WHERE lower(name) = lower($1)",
        name.strip(),
    )
    return None if row is None else Account(row["id"], row["name"], row["password_hash"])


async def exists(db: asyncpg.Pool) -> bool:
    """True when at least one account exists."""
    return bool(await db.fetchval("SELECT EXISTS (SELECT 1 FROM accounts)"))


async def names(db: asyncpg.Pool) -> list[dict[str, str]]:
    """Every account's name and creation time, by name."""
    rows = await db.fetch("SELECT name, created_at FROM accounts ORDER BY lower(name)")
    return [{"name": r["name"], "created_at": r["created_at"].isoformat()} for r in rows]


async def set_password(db: asyncpg.Pool, name: str, password_hash: str) -> None:
    """Replace an account's password and end all its sessions (a changed password means
    whoever knew the old one is logged out)."""
    async with db.acquire() as conn, conn.transaction():
        account_id = await conn.fetchval(
            "UPDATE accounts SET password_hash = $2 WHERE lower(name) = lower($1) RETURNING id",
            name.strip(),
            password_hash,
        )
        if account_id is None:
            raise AccountError(f"there is no account named {name!r}")
        await conn.execute("DELETE FROM auth_sessions WHERE account_id = $1", account_id)


async def remove(db: asyncpg.Pool, name: str) -> None:
    """Delete an account and (by cascade) its sessions."""
    deleted = await db.fetchval(
        "DELETE FROM accounts WHERE lower(name) = lower($1) RETURNING id", name.strip()
    )
    if deleted is None:
        raise AccountError(f"there is no account named {name!r}")
