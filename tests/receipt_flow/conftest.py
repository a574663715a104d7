"""Fixtures of the receipt flow tests: nodes over real HTTP (from tests/node), a real
PostgreSQL and a real Mosquitto (from tests/sync), and a reader that does as it is told."""

from __future__ import annotations

from tests.fakes.leaks import no_leaks
from tests.node.conftest import _no_leaked_tasks, make_node, node, ws
from tests.sync.conftest import broker, dsn, module_dsn

__all__ = [
    "_no_leaked_tasks",
    "broker",
    "dsn",
    "make_node",
    "module_dsn",
    "no_leaks",
    "node",
    "ws",
]
