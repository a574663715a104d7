"""What every configuration (node and central) shares: strict sections, errors, TOML files."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

M = TypeVar("M", bound=BaseModel)
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def _slug(value: str) -> str:
    if not _SLUG_RE.match(value):
        raise ValueError("use 1-63 lowercase letters, digits, '-' or '_' (it becomes a topic)")
    return value


#: A node, household or instance name: it becomes part of MQTT topics and client ids.
Slug = Annotated[str, AfterValidator(_slug)]


class Section(BaseModel):
    """A configuration section. Unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class ConfigError(Exception):
    """The configuration is invalid; ``errors`` lists ``(key path, message)`` pairs."""

    def __init__(self, errors: list[tuple[str, str]], source: str = "configuration") -> None:
        self.errors = errors
        lines = "\n".join(f"  {key}: {msg}" for key, msg in errors)
        super().__init__(f"{source} is invalid:\n{lines}")


def validation_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """Every problem pydantic found, as ``(dotted key path, message)``."""
    errors = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        errors.append((key, "unknown key" if err["type"] == "extra_forbidden" else err["msg"]))
    return errors


def validate(model: type[M], data: dict[str, Any], source: str) -> M:
    """Validate ``data`` as ``model``; raise ConfigError listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_errors(exc), source) from None


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML configuration file; a missing or malformed file is a ConfigError."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([("(file)", f"{path} does not exist")], str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([("(file)", f"not valid TOML: {exc}")], str(path)) from None
