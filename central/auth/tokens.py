"""API tokens for scripts and integrations: ``kc_`` + 256 random bits, shown once, stored
hashed, with a scope (``read``: safe methods only; ``full``: everything), revocable."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

import asyncpg

from appliance.core.ids import new_id
from central.auth.accounts import AccountError, check_name
from central.auth.sessions import hash_secret

TOKEN_PREFIX = "kc_"
Scope = Literal["read", "full"]
SCOPES: tuple[Scope, ...] = ("read", "full")
_TOUCH_EVERY = 3600.0  # seconds between last_used writes of one token


class TokenError(ValueError):
    """A token operation that cannot be done (name taken, no such token)."""


@dataclass(frozen=True, slots=True)
class Token:
    """A valid token: its id, name, scope and (when made from the dashboard) its account."""

    id: str
    name: str
    scope: Scope
    account_name: str | None


async def create(
    db: asyncpg.Pool, name: str, scope: Scope = "full", account_id: int | None = None
) -> tuple[str, str]:
    """Make a token; return (id, secret). The secret is not kept and cannot be shown again."""
    try:
        name = check_name(name)
    except AccountError as exc:
        raise TokenError(str(exc)) from None
    if scope not in SCOPES:
        raise TokenError(f"the scope must be one of {', '.join(SCOPES)}")
    token_id = new_id()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        await db.execute(
            """INSERT INTO api_tokens (id, name, scope, secret_hash, account_id)
               VALUES ($1, $2, $3, $4, $5)""",
            token_id,
            name,
            scope,
            hash_secret(secret),
            account_id,
        )
    except asyncpg.UniqueViolationError:
        raise TokenError(f"a token named {name!r} exists already") from None
    return token_id, secret


async def check(db: asyncpg.Pool, secret: str) -> Token | None:
    """The token behind a bearer secret, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    secret_hash = hash_secret(secret)
    row = await db.fetchrow(
        """SELECT t.id::text AS id, t.name, t.scope, a.name AS account_name,
                  t.last_used IS NULL OR t.last_used < now() - make_interval(secs => $2) AS stale
             FROM api_tokens t LEFT JOIN accounts a ON a.id = t.account_id
            WHERE t.secret_hash = $1""",
        secret_hash,
        _TOUCH_EVERY,
    )
    if row is None:
        return None
    if row["stale"]:
        await db.execute(
            "UPDATE api_tokens SET last_used = now() WHERE secret_hash = $1", secret_hash
        )
    return Token(row["id"], row["name"], row["scope"], row["account_name"])


async def listing(db: asyncpg.Pool) -> list[dict[str, str | None]]:
    """Every token (never its secret), oldest first."""
    rows = await db.fetch(
        """SELECT t.id::text AS id, t.name, t.scope, t.created_at, t.last_used,
                  a.name AS created_by
             FROM api_tokens t LEFT JOIN accounts a ON a.id = t.account_id
            ORDER BY t.created_at, t.id"""
    )
    return [
        {
            "id": r["id"],
            "name": r["name"],
            "scope": r["scope"],
            "created_at": r["created_at"].isoformat(),
            "last_used": r["last_used"].isoformat() if r["last_used"] else None,
            "created_by": r["created_by"],
        }
        for r in rows
    ]


async def revoke(db: asyncpg.Pool, *, token_id: str | None = None, name: str | None = None) -> None:
    """Delete a token by id or by name (any case); raise TokenError when there is none."""
    if token_id is not None:
        done = await db.fetchval("DELETE FROM api_tokens WHERE id = $1 RETURNING id", token_id)
        what = token_id
    else:
        assert name is not None
        done = await db.fetchval(
            "DELETE FROM api_tokens WHERE lower(name) = lower($1) RETURNING id", name.strip()
        )
        what = repr(name)
    if done is None:
        raise TokenError(f"there is no token {what}")
