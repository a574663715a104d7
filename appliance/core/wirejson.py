"""JSON from the outside (HTTP bodies, MQTT payloads), parsed with a bound on its nesting.

``json.loads`` recurses once per level: ``"[" * 100000`` ends in a RecursionError, and a
merely deep document (a few hundred levels) parses but can break any later code that walks
it recursively (``json.dumps``, validation, the checksum). Nothing this system exchanges is
nested more than a handful of levels, so anything deeper than ``MAX_DEPTH`` is refused
before it is parsed.

The check costs next to nothing for ordinary payloads: when a document holds no more
brackets than the limit it cannot be nested deeper, which two ``bytes.count`` calls show.
Only documents with more brackets than that (sync batches, say) get the exact check, done
with bytes operations that run in C: drop escaped backslashes and quotes, keep only quotes
and brackets, drop what lies between quotes, and add the brackets up
(``itertools.accumulate``). It costs about as much as the parse itself.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Final

#: Deepest nesting accepted (an object in an array counts two levels).
MAX_DEPTH: Final = 32

_NOT_STRUCTURE: Final = bytes(b for b in range(256) if b not in b'"[]{}')
# Opening brackets become +1, closing ones -1 (0xff read as a signed byte).
_SIGNS: Final = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


class JsonDepthError(ValueError):
    """A document nested deeper than the limit."""


def too_deep(raw: bytes, max_depth: int = MAX_DEPTH) -> bool:
    """Whether the UTF-8 JSON text ``raw`` nests arrays/objects deeper than ``max_depth``."""
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False
    # In UTF-8 no byte of a multi-byte character is a quote or a bracket, so bytes will do.
    # Escaped backslashes go first, so that in ``"\\"`` the closing quote is kept.
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    quotes_and_brackets = unescaped.translate(None, _NOT_STRUCTURE)
    # What is left alternates outside / inside a string between the quotes.
    structure = b"".join(quotes_and_brackets.split(b'"')[::2]).translate(_SIGNS)
    deepest = max(itertools.accumulate(memoryview(structure).cast("b")), default=0)
    return deepest > max_depth


def loads(raw: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse UTF-8 JSON nested at most ``max_depth`` levels; ValueError says what is wrong.

    Raises UnicodeDecodeError (a ValueError) for text that is not UTF-8, JsonDepthError for
    too deep a document and ``json.JSONDecodeError`` for anything else malformed.
    """
    text = raw.decode("utf-8")
    if too_deep(raw, max_depth):
        raise JsonDepthError(f"the JSON is nested deeper than {max_depth} levels")
    return json.loads(text)
