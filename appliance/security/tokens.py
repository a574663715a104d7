"""Device tokens: random, shown once, stored only as a hash, with a role, revocable.

A token's check is cached in memory while the node watches the tokens table (``watching``).
Triggers on that table bump a counter (``meta.tokens_changed``) whenever any process
(``kitchen-node token revoke``, another node process, a sqlite3 shell) revokes a token,
changes a role or deletes a row; every ``recheck_every`` seconds the node reads it (one cheap
read). When it moved, the cache is dropped and the hooks in ``on_revoke`` are told which
tokens were revoked (the WebSocket hub closes their connections). A revocation in this
process takes effect at once; one from another process within ``recheck_every`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

from appliance.core.ids import new_id
from appliance.core.messages import utc_timestamp
from appliance.store import Store
from appliance.store.sql import fetch_all

log = logging.getLogger(__name__)

TOKEN_PREFIX = "kn_"
Role = Literal["owner", "kitchen"]
ROLES: tuple[Role, ...] = ("owner", "kitchen")
_TOUCH_EVERY = 3600.0  # seconds between "last used" writes for one token
_CACHE_LIMIT = 1024  # distinct valid tokens remembered (a household has a handful)
_SLUG = re.compile(r"[^a-z0-9]+")


def hash_token(token: str) -> str:
    """SHA-256 of a token (tokens carry 256 random bits; a slow hash adds nothing)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def device_station_id(token_id: str, name: str) -> str:
    """The scan station of a paired device: its name as a slug plus a stable suffix.

    The suffix comes from the token id, so two devices both called "iPad" get two stations,
    and the id is the same at every request (nothing to store).
    """
    slug = _SLUG.sub("-", name.lower()).strip("-")[:40] or "device"
    return f"{slug}-{hashlib.sha256(token_id.encode()).hexdigest()[:6]}"


@dataclass(frozen=True, slots=True)
class Device:
    """Who a valid token belongs to."""

    id: str
    name: str
    kind: str  # "cli" (kitchen-node token create) or "paired"
    role: Role

    @property
    def is_owner(self) -> bool:
        """May list, revoke and promote devices."""
        return self.role == "owner"

    @property
    def station_id(self) -> str | None:
        """The station a paired device's scans belong to (CLI tokens have none)."""
        return device_station_id(self.id, self.name) if self.kind == "paired" else None


def _device(row: Any) -> Device:
    """A Device from ``(id, name, kind, role)``."""
    role: Role = "owner" if row[3] == "owner" else "kitchen"
    return Device(str(row[0]), str(row[1]), str(row[2]), role)


class TokenStore:
    """Creates, checks, promotes and revokes device tokens."""

    def __init__(self, store: Store, *, recheck_every: float = 1.0) -> None:
        self.store = store
        self.recheck_every = recheck_every
        # hash -> (device, monotonic time of the last "last used" write)
        self._cache: dict[str, tuple[Device, float]] = {}
        self._watching = False
        self._generation: str | None = None
        self._revoked: set[str] | None = None
        # Told the id of every revoked token (the WebSocket hub closes its connections).
        self.on_revoke: list[Callable[[str], object]] = []

    async def create(
        self, name: str, kind: str = "cli", role: Role | None = None
    ) -> tuple[str, str]:
        """Create a token; returns ``(token id, token)``. The token is not stored.

        The role defaults to ``owner`` for CLI tokens and ``kitchen`` for paired devices.
        """
        chosen = role or ("owner" if kind == "cli" else "kitchen")
        if chosen not in ROLES:
            raise ValueError(f"unknown role {chosen!r}; use one of {', '.join(ROLES)}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = new_id()
        async with self.store.transaction() as tx:
            await tx.conn.execute(
                "INSERT INTO tokens (id, name, hash, created_at, kind, role) VALUES (?,?,?,?,?,?)",
                (token_id, name[:100], hash_token(token), utc_timestamp(), kind, chosen),
            )
        return token_id, token

    async def check(self, token: str) -> Device | None:
        """The device a valid token belongs to, else None."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = hash_token(token)
        now = time.monotonic()
        cached = self._cache.get(digest) if self._watching else None
        if cached is not None and now - cached[1] <= _TOUCH_EVERY:
            return cached[0]
        rows = await fetch_all(
            self.store.reader,
            "SELECT id, name, kind, role FROM tokens WHERE hash = ? AND revoked = 0",
            (digest,),
        )
        if not rows:
            self._cache.pop(digest, None)
            return None
        device = _device(rows[0])
        if cached is None or now - cached[1] > _TOUCH_EVERY:
            await self._touch(device.id)
            touched = now
        else:
            touched = cached[1]
        if self._watching:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[digest] = (device, touched)
        return device

    async def verify(self, token: str) -> str | None:
        """Return the token's id when it is valid, else None."""
        device = await self.check(token)
        return None if device is None else device.id

    async def _touch(self, token_id: str) -> None:
        async with self.store.transaction() as tx:
            await tx.conn.execute(
                "UPDATE tokens SET last_used_at = ? WHERE id = ?", (utc_timestamp(), token_id)
            )

    async def get(self, token_id: str) -> Device | None:
        """A token that is not revoked, by id."""
        rows = await fetch_all(
            self.store.reader,
            "SELECT id, name, kind, role FROM tokens WHERE id = ? AND revoked = 0",
            (token_id,),
        )
        if not rows:
            return None
        return _device(rows[0])

    async def list(self) -> list[dict[str, Any]]:
        """Every token that is not revoked (never the token itself)."""
        rows = await fetch_all(
            self.store.reader,
            "SELECT id, name, kind, role, created_at, last_used_at FROM tokens WHERE revoked = 0"
            " ORDER BY created_at, id",
        )
        return [
            {
                "id": r[0],
                "name": r[1],
                "kind": r[2],
                "role": r[3],
                "created_at": r[4],
                "last_used_at": r[5],
            }
            for r in rows
        ]

    async def station_names(self) -> dict[str, str]:
        """The name each paired device's station goes by: the name it was paired with, so
        history reads "Added 1 on iPad" rather than the station's id."""
        return {
            device_station_id(t["id"], t["name"]): t["name"]
            for t in await self.list()
            if t["kind"] == "paired"
        }

    async def set_role(self, token_id: str, role: Role) -> bool:
        """Give a token another role; returns whether the token exists (and is not revoked)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        async with self.store.transaction() as tx:
            cursor = await tx.conn.execute(
                "UPDATE tokens SET role = ? WHERE id = ? AND revoked = 0", (role, token_id)
            )
            changed = cursor.rowcount > 0
        self._forget(token_id)
        return changed

    async def revoke(self, token_id: str) -> bool:
        """Revoke a token; returns whether it existed."""
        async with self.store.transaction() as tx:
            cursor = await tx.conn.execute(
                "UPDATE tokens SET revoked = 1 WHERE id = ? AND revoked = 0", (token_id,)
            )
            changed = cursor.rowcount > 0
        self._forget(token_id)
        if changed:
            if self._revoked is not None:
                self._revoked.add(token_id)
            self._tell_revoked(token_id)
        return changed

    def _forget(self, token_id: str) -> None:
        self._cache = {h: v for h, v in self._cache.items() if v[0].id != token_id}

    def _tell_revoked(self, token_id: str) -> None:
        for hook in self.on_revoke:
            try:
                hook(token_id)
            except Exception:
                log.exception("revocation hook failed for token %s", token_id)

    # --- noticing changes made by other processes --------------------------------------------

    async def refresh(self) -> bool:
        """Look whether the tokens table changed; if so drop the cache and tell revocations.

        Returns whether it had changed. Cheap when nothing changed: one indexed read.
        """
        rows = await fetch_all(
            self.store.reader, "SELECT value FROM meta WHERE key = 'tokens_changed'"
        )
        generation = str(rows[0][0]) if rows else ""
        if generation == self._generation and self._revoked is not None:
            return False
        self._generation = generation
        self._cache.clear()
        revoked = {
            str(r[0])
            for r in await fetch_all(self.store.reader, "SELECT id FROM tokens WHERE revoked = 1")
        }
        before, self._revoked = self._revoked, revoked
        if before is not None:
            for token_id in sorted(revoked - before):
                log.info("token %s was revoked elsewhere; closing its connections", token_id)
                self._tell_revoked(token_id)
        return True

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """Cache token checks and watch the table for changes while the block runs."""
        await self.refresh()
        self._watching = True
        task = asyncio.create_task(self._watch(), name="token-watch")
        try:
            yield
        finally:
            self._watching = False
            self._cache.clear()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_every)  # ok: the period of the check
            try:
                await self.refresh()
            except Exception as exc:  # a closed or busy database: try again next period
                log.warning("token check failed: %s", exc)
