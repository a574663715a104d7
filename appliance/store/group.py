"""Group commit: write transactions that queue up for the writer share one COMMIT.

A transaction whose block ends while another one waits for the writer does not write and
commit on its own: its writes go to SQLite at the start of the next transaction's first call
(one round trip for both), and the last one of the group writes and COMMITs for all. Each
waits for that COMMIT before it returns, so nothing is acknowledged before it is durable
(one fsync for the group instead of one each).

Each transaction that joins a group starts with a SAVEPOINT, so one that fails rolls back
only its own statements. Should the writes of a group fail (a disk error), the whole group
is rolled back and every member gets the error: none of them was acknowledged.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appliance.store.transaction import WriteTx

#: At most this many transactions share one COMMIT (bounds the wait of the first one).
MAX_GROUP = 16


class GroupFailed(Exception):
    """The writes of an earlier member of the group failed; the whole group is undone."""


@dataclass
class Group:
    """Transactions sharing one SQLite transaction and one COMMIT."""

    #: BEGIN went out; neither COMMIT nor ROLLBACK yet.
    open: bool = False
    #: An earlier member's writes failed: the group can only be rolled back.
    broken: bool = False
    #: Ended blocks whose writes are in the open SQLite transaction.
    members: list[WriteTx] = field(default_factory=list)
    #: Ended blocks whose writes go to SQLite with the next call on the writer.
    pending: list[WriteTx] = field(default_factory=list)
    #: Per ended block, in order: resolved by the COMMIT (each member awaits its own, so a
    #: member that is cancelled cancels nobody else's wait).
    waiters: list[asyncio.Future[None]] = field(default_factory=list)

    @property
    def size(self) -> int:
        """How many ended transactions wait for this group's COMMIT."""
        return len(self.waiters)

    @property
    def unfinished(self) -> bool:
        """Something went to (or waits for) SQLite that no COMMIT or ROLLBACK has ended."""
        return self.open or bool(self.pending)

    def add(self, tx: WriteTx) -> asyncio.Future[None]:
        """Queue an ended block's writes for the next call; returns what its COMMIT resolves."""
        self.pending.append(tx)
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        return waiter

    def take_pending(self) -> list[WriteTx]:
        """The writes the next call carries; from then on they are in the open transaction."""
        pending, self.pending = self.pending, []
        self.members.extend(pending)
        return pending

    def committed(self) -> None:
        """COMMIT went through: wake the members in the order they ended."""
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(None)

    def fail(self, exc: BaseException) -> None:
        """Every member gets an error instead of its COMMIT."""
        for waiter in self.waiters:
            if not waiter.done():
                error = GroupFailed(f"the group's writes were rolled back: {exc!r}")
                error.__cause__ = exc
                waiter.set_exception(error)
                waiter.exception()  # retrieved: a member may be gone (cancelled) already
