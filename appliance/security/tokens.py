"""Device tokens: random, shown once, stored only as a hash, revocable."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any

from appliance.core.ids import new_id
from appliance.core.messages import utc_timestamp
from appliance.store import Store
from appliance.store.sql import fetch_all

TOKEN_PREFIX = "kn_"
_TOUCH_EVERY = 3600.0  # seconds between "last used" writes for one token


def hash_token(token: str) -> str:
    """SHA-256 of a token (tokens carry 256 random bits; a slow hash adds nothing)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """Creates, checks and revokes device tokens."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._valid: dict[str, tuple[str, float]] = {}
        # Told the id of every revoked token (the WebSocket hub closes its connections).
        self.on_revoke: list[Callable[[str], object]] = []  # hash -> (token id, last touch)

    async def create(self, name: str, kind: str = "cli") -> tuple[str, str]:
        """Create a token; returns ``(token id, token)``. The token is not stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = new_id()
        async with self.store.transaction() as tx:
            await tx.conn.execute(
                "INSERT INTO tokens (id, name, hash, created_at, kind) VALUES (?,?,?,?,?)",
                (token_id, name[:100], hash_token(token), utc_timestamp(), kind),
            )
        return token_id, token

    async def verify(self, token: str) -> str | None:
        """Return the token's id when it is valid, else None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = hash_token(token)
        # Always asked of the database (one indexed read): ``kitchen-node token revoke`` runs
        # in another process, and a revoked token must stop working at once, not at restart.
        rows = await fetch_all(
            self.store.reader, "SELECT id FROM tokens WHERE hash = ? AND revoked = 0", (digest,)
        )
        if not rows:
            self._valid.pop(digest, None)
            return None
        token_id = str(rows[0][0])
        cached = self._valid.get(digest)
        now = time.monotonic()
        if cached is None or now - cached[1] > _TOUCH_EVERY:
            self._valid[digest] = (token_id, now)
            await self._touch(token_id)
        return token_id

    async def _touch(self, token_id: str) -> None:
        async with self.store.transaction() as tx:
            await tx.conn.execute(
                "UPDATE tokens SET last_used_at = ? WHERE id = ?", (utc_timestamp(), token_id)
            )

    async def list(self) -> list[dict[str, Any]]:
        """Every token that is not revoked (never the token itself)."""
        rows = await fetch_all(
            self.store.reader,
            "SELECT id, name, kind, created_at, last_used_at FROM tokens WHERE revoked = 0"
            " ORDER BY created_at, id",
        )
        return [
            {"id": r[0], "name": r[1], "kind": r[2], "created_at": r[3], "last_used_at": r[4]}
            for r in rows
        ]

    async def revoke(self, token_id: str) -> bool:
        """Revoke a token; returns whether it existed."""
        async with self.store.transaction() as tx:
            cursor = await tx.conn.execute(
                "UPDATE tokens SET revoked = 1 WHERE id = ? AND revoked = 0", (token_id,)
            )
            changed = cursor.rowcount > 0
        self._valid = {h: v for h, v in self._valid.items() if v[0] != token_id}
        if changed:
            for hook in self.on_revoke:
                hook(token_id)
        return changed
