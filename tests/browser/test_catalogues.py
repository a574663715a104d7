"""The web apps' message catalogues: one per language, the same keys in each, and every key
the code asks for present (a missing one would show its raw key to a person). Central's
dashboard adds its own catalogues (web/src/central/i18n) to the shared ones at start: the
checks run on both together, and the dashboard's keys must not clash with the node's."""

from __future__ import annotations

import json
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "web" / "src"
NODE = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (SRC / "i18n").glob("*.json")}
DASHBOARD = {
    p.stem: json.loads(p.read_text(encoding="utf-8"))
    for p in (SRC / "central" / "i18n").glob("*.json")
}
CATALOGUES = {lang: {**texts, **DASHBOARD.get(lang, {})} for lang, texts in NODE.items()}
# t("key") and t("key", {...}); a template key t(`prefix.${x}`) must match some key.
STATIC = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_]+)["']""")
DYNAMIC = re.compile(r"""\bt\(\s*`([a-z_]+\.)\$\{""")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _code() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in SRC.rglob("*.js"))


def test_english_and_german_exist() -> None:
    """Both languages have a catalogue, for the node's app and for the dashboard."""
    assert set(NODE) == {"en", "de"}
    assert set(DASHBOARD) == {"en", "de"}


def test_dashboard_keys_do_not_override_the_nodes() -> None:
    """The dashboard adds texts; it never changes one of the kitchen app's."""
    clash = set(NODE["en"]) & set(DASHBOARD["en"])
    assert not clash, f"dashboard catalogue redefines: {sorted(clash)}"


def test_every_catalogue_has_every_key() -> None:
    """A key in one catalogue and not the other fails, naming it."""
    en, de = set(CATALOGUES["en"]), set(CATALOGUES["de"])
    assert not en - de, f"missing in de.json: {sorted(en - de)}"
    assert not de - en, f"missing in en.json: {sorted(de - en)}"


def test_every_key_used_in_the_code_exists() -> None:
    """Each t("...") in web/src names a key of the catalogues."""
    code = _code()
    used = set(STATIC.findall(code))
    assert len(used) > 100  # the pattern still finds the calls
    missing = sorted(used - set(CATALOGUES["en"]))
    assert not missing, f"keys used in web/src but in no catalogue: {missing}"
    for prefix in set(DYNAMIC.findall(code)):
        assert any(k.startswith(prefix) for k in CATALOGUES["en"]), prefix


def test_placeholders_match_between_languages() -> None:
    """A translation keeps the original's placeholders ({name}, {amount}, ...)."""
    for key, text in CATALOGUES["en"].items():
        wanted = set(PLACEHOLDER.findall(text))
        got = set(PLACEHOLDER.findall(CATALOGUES["de"][key]))
        assert wanted == got, f"{key}: en has {sorted(wanted)}, de has {sorted(got)}"


def test_no_empty_texts() -> None:
    """Every text says something."""
    for lang, catalogue in CATALOGUES.items():
        empty = [k for k, v in catalogue.items() if not v.strip()]
        assert not empty, f"{lang}: empty texts {empty}"
