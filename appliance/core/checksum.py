"""The canonical hash of a household state, equal on node and central for the same events.

Both sides fold the same events with the same code, so their entity states are equal; this
module turns such a set of states into one short string that tests and operators compare.
The hash is over a canonical text form (entities sorted by kind and id, JSON with sorted keys
and no insignificant whitespace), so it does not depend on storage order or on how a database
round-trips JSON objects (PostgreSQL's jsonb reorders keys).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

#: A state as stored: ``(kind, entity id, entity.to_json())``; the JSON may be given as text.
StateItem = tuple[str, str, Mapping[str, Any] | str]

_EMPTY = hashlib.sha256(b"kitchen-state-v1\n").hexdigest()


def canonical_json(value: Any) -> str:
    """Return the canonical text form of a JSON value (sorted keys, compact, UTF-8 kept)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def state_checksum(items: Iterable[StateItem]) -> str:
    """Return the SHA-256 hex digest of the canonical form of all entity states.

    ``items`` may come in any order; JSON given as text is parsed first so that key order and
    whitespace of the stored text do not matter.
    """
    lines: list[tuple[str, str, str]] = []
    for kind, entity_id, state in items:
        parsed = json.loads(state) if isinstance(state, str) else state
        lines.append((kind, entity_id.lower(), canonical_json(parsed)))
    if not lines:
        return _EMPTY
    lines.sort()
    digest = hashlib.sha256(b"kitchen-state-v1\n")
    for kind, entity_id, text in lines:
        digest.update(f"{kind}\t{entity_id}\t{text}\n".encode())
    return digest.hexdigest()
