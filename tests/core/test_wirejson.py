"""The bounded-depth JSON parser agrees with the real nesting of any document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.core.wirejson import JsonDepthError, loads, too_deep

# Strings full of the characters the depth check must see through.
tricky_text = st.text(alphabet=st.sampled_from('[]{}"\\ aé\n'), max_size=8)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=30,
)


def depth(value: Any) -> int:
    """How deeply ``value`` nests arrays and objects."""
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(value=values, limit=st.integers(min_value=0, max_value=6), ascii_only=st.booleans())
def test_depth_check_matches_the_real_depth(value: Any, limit: int, ascii_only: bool) -> None:
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert too_deep(raw, limit) is (depth(value) > limit)


def test_what_once_overflowed_the_stack_is_refused() -> None:
    for raw in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
        with pytest.raises(JsonDepthError, match="nested deeper than 32"):
            loads(raw)
    # Unbalanced brackets are refused too (by the depth check or the parser).
    with pytest.raises(ValueError):
        loads(b"[" * 100_000)
    assert loads(b"[" * 32 + b"]" * 32) == json.loads(b"[" * 32 + b"]" * 32)


def test_only_utf8_is_json() -> None:
    with pytest.raises(UnicodeDecodeError):
        loads('{"a": "ä"}'.encode("utf-16"))
    assert loads('{"a": "ä"}'.encode()) == {"a": "ä"}
