"""Broker credentials for nodes and central: Mosquitto password file, pattern ACL, broker config.

``add_node`` gives a node a random password, writes its entry into the Mosquitto password file
in mosquitto 2's PBKDF2-SHA512 ``$7$`` format (what ``mosquitto_passwd`` writes), makes sure the
household's and the node's blocks in the ACL file are current, and returns the node's ``[sync]``
configuration.
Files are replaced atomically, keep their owner and group, and get modes 0600 (passwords) and
0640 (ACL). Mosquitto reads both only at start and on SIGHUP: reload it after a change.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DEFAULT_CENTRAL_USER = "central"
DEFAULT_HA_USER = "homeassistant"
DEFAULT_HA_PREFIX = "homeassistant"
PASSWORD_FILE_MODE = 0o600
ACL_FILE_MODE = 0o640
PBKDF2_ITERATIONS = 101  # mosquitto_passwd's default
_SALT_BYTES = 12
_HASH_BYTES = 64
_TEMPLATES_ENV = "KITCHEN_BROKER_TEMPLATES"


class CredentialsError(ValueError):
    """A name or file that cannot be used for broker credentials."""


@dataclass(frozen=True)
class NodeCredentials:
    """A broker login and where to use it; ``sync_toml()`` is the node's ``[sync]`` section."""

    username: str
    password: str = field(repr=False)
    household: str
    host: str
    port: int
    # MQTT over TLS, verified with the household CA at ``ca_file`` (a path on the node).
    tls: bool = False
    ca_file: str | None = None

    def topic(self, suffix: str) -> str:
        """This node's own topic, e.g. ``topic("events")``."""
        return f"kitchen/v1/{self.household}/node/{self.username}/{suffix}"

    def sync_toml(self) -> str:
        """The ``[sync]`` section for the node's configuration file."""
        return (
            f"# Broker login for node {self.username!r} of household {self.household!r}:\n"
            f"# the node's [node] id must be {json.dumps(self.username)}.\n"
            "[sync]\n"
            "enabled = true\n"
            f"host = {json.dumps(self.host)}\n"
            f"port = {self.port}\n"
            f"username = {json.dumps(self.username)}\n"
            f"password = {json.dumps(self.password)}\n"
            + ("tls = true\n" if self.tls else "")
            + (f"ca_file = {json.dumps(self.ca_file)}\n" if self.tls and self.ca_file else "")
        )


def hash_password(
    password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    """``$7$<iterations>$<salt>$<hash>``: PBKDF2-HMAC-SHA512, base64, as mosquitto 2 stores it."""
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, _HASH_BYTES)
    encode = base64.b64encode
    return f"$7${iterations}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches a ``$7$`` (or legacy ``$6$`` SHA512) password-file hash."""
    parts = encoded.split("$")
    try:
        if len(parts) == 5 and parts[1] == "7":
            iterations, salt, expected = int(parts[2]), parts[3], parts[4]
            digest = hashlib.pbkdf2_hmac(
                "sha512", password.encode(), base64.b64decode(salt), iterations, _HASH_BYTES
            )
        elif len(parts) == 4 and parts[1] == "6":
            salt, expected = parts[2], parts[3]
            digest = hashlib.sha512(password.encode() + base64.b64decode(salt)).digest()
        else:
            return False
    except ValueError:  # bad base64 or iteration count
        return False
    return hmac.compare_digest(base64.b64encode(digest).decode(), expected)


def check_username(name: str) -> str:
    """A node id or central's user: 1-63 of ``a-z0-9_-``, usable in topics and with ``%u``."""
    if not USERNAME_RE.match(name):
        raise CredentialsError(
            f"invalid name {name!r}: use 1-63 lowercase letters, digits, '-' or '_'"
        )
    return name


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise concurrent ``node add`` runs: an exclusive lock on the file's directory."""
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write_atomic(path: Path, text: str, mode: int, owner: str | None) -> None:
    """Replace ``path`` atomically, keeping (or setting) its owner and group."""
    old = path.stat() if path.exists() else None
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as tmp:
            tmp.write(text)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, mode)
        if owner is not None:
            shutil.chown(tmp_name, owner, owner)
        elif old is not None and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
            os.chown(tmp_name, old.st_uid, old.st_gid)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def _read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def set_password(
    password_file: Path, username: str, password: str, *, owner: str | None = None
) -> None:
    """Add or replace ``username``'s entry; other entries stay as they are."""
    check_username(username)
    password_file = Path(password_file)
    with _locked(password_file):
        lines = [line for line in _read_lines(password_file) if line.split(":", 1)[0] != username]
        lines.append(f"{username}:{hash_password(password)}")
        _write_atomic(password_file, "\n".join(lines) + "\n", PASSWORD_FILE_MODE, owner)


def remove_user(password_file: Path, username: str, *, owner: str | None = None) -> bool:
    """Delete ``username``'s entry; ``False`` if there was none."""
    password_file = Path(password_file)
    with _locked(password_file):
        lines = _read_lines(password_file)
        kept = [line for line in lines if line.split(":", 1)[0] != username]
        if len(kept) == len(lines):
            return False
        _write_atomic(
            password_file, "".join(f"{line}\n" for line in kept), PASSWORD_FILE_MODE, owner
        )
        return True


def template_dir() -> Path:
    """``$KITCHEN_BROKER_TEMPLATES``, else ``firmware/broker`` of this checkout."""
    configured = os.environ.get(_TEMPLATES_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[1] / "firmware" / "broker"


def _render(template_name: str, **values: object) -> list[str]:
    text = (template_dir() / template_name).read_text(encoding="utf-8")
    return Template(text).substitute(values).rstrip("\n").splitlines()


def render_acl(household: str, *, central_user: str = DEFAULT_CENTRAL_USER) -> list[str]:
    """The household's block (``acl.template``): node patterns with ``%u``, central's topics."""
    return _render(
        "acl.template",
        household=check_username(household),
        central_user=check_username(central_user),
    )


def render_acl_node(node: str, household: str) -> list[str]:
    """A node's block (``acl-node.template``): what every node of the household may read."""
    return _render(
        "acl-node.template", node=check_username(node), household=check_username(household)
    )


def render_acl_ha(username: str, household: str, prefix: str = DEFAULT_HA_PREFIX) -> list[str]:
    """Home Assistant's block (``acl-ha.template``): discovery, states, node commands."""
    return _render(
        "acl-ha.template",
        ha_user=check_username(username),
        household=check_username(household),
        ha_prefix=check_username(prefix),
    )


def _without_block(lines: list[str], begin: str) -> tuple[list[str], int]:
    """``lines`` minus the block that starts with ``begin``, and where it was (or -1)."""
    if begin not in lines:
        return lines, -1
    start = lines.index(begin)
    end = begin.replace("# BEGIN ", "# END ", 1)
    stop = lines.index(end, start) if end in lines[start:] else start
    return lines[:start] + lines[stop + 1 :], start


def _with_block(lines: list[str], block: list[str]) -> list[str]:
    """``lines`` with ``block`` replacing its previous version in place, or appended."""
    lines, at = _without_block(lines, block[0])
    if at >= 0:
        return lines[:at] + block + lines[at:]
    return [*lines, "", *block] if lines else list(block)


def update_acl(
    acl_file: Path,
    household: str,
    *,
    central_user: str = DEFAULT_CENTRAL_USER,
    add_nodes: Iterable[str] = (),
    remove_nodes: Iterable[str] = (),
    add_blocks: Iterable[list[str]] = (),
    owner: str | None = None,
) -> bool:
    """Bring the household's and the given nodes' blocks up to date; ``True`` if it changed.

    Blocks sit between ``# BEGIN kitchen ...`` and ``# END kitchen ...`` lines and are
    rewritten in place; everything outside them is kept. Running it twice changes nothing.
    """
    acl_file = Path(acl_file)
    with _locked(acl_file):
        old_text = acl_file.read_text(encoding="utf-8") if acl_file.exists() else None
        lines = old_text.splitlines() if old_text else []
        lines = _with_block(lines, render_acl(household, central_user=central_user))
        for node in remove_nodes:
            lines, _ = _without_block(lines, render_acl_node(node, household)[0])
        for node in add_nodes:
            lines = _with_block(lines, render_acl_node(node, household))
        for block in add_blocks:
            lines = _with_block(lines, block)
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines).strip("\n") + "\n")
        mode_ok = old_text is not None and (acl_file.stat().st_mode & 0o777) == ACL_FILE_MODE
        if text == old_text and mode_ok and owner is None:
            return False
        _write_atomic(acl_file, text, ACL_FILE_MODE, owner)
        return True


def _add_user(
    username: str,
    *,
    password_file: Path,
    acl_file: Path,
    household: str,
    host: str,
    port: int,
    central_user: str,
    password: str | None,
    owner: str | None,
) -> NodeCredentials:
    password = password or secrets.token_urlsafe(24)
    set_password(Path(password_file), username, password, owner=owner)
    nodes = [] if username == central_user else [username]
    update_acl(Path(acl_file), household, central_user=central_user, add_nodes=nodes, owner=owner)
    return NodeCredentials(username, password, household, host, port)


def add_node(
    name: str,
    *,
    password_file: Path,
    acl_file: Path,
    household: str,
    host: str = "127.0.0.1",
    port: int = 1883,
    central_user: str = DEFAULT_CENTRAL_USER,
    password: str | None = None,
    owner: str | None = None,
) -> NodeCredentials:
    """Create (or rotate) node ``name``'s broker login; the node id is the username.

    ``host``/``port`` are what the node should connect to; ``owner`` (e.g. ``"mosquitto"``)
    sets the files' owner and group, otherwise an existing file keeps its own.
    """
    check_username(name)
    if name == central_user:
        raise CredentialsError(f"{name!r} is central's broker user, not a node id")
    return _add_user(
        name,
        password_file=password_file,
        acl_file=acl_file,
        household=check_username(household),
        host=host,
        port=port,
        central_user=central_user,
        password=password,
        owner=owner,
    )


def add_central(
    *,
    password_file: Path,
    acl_file: Path,
    household: str,
    username: str = DEFAULT_CENTRAL_USER,
    host: str = "127.0.0.1",
    port: int = 1883,
    password: str | None = None,
    owner: str | None = None,
) -> NodeCredentials:
    """Create (or rotate) central's broker login (read events, write acks and the stream)."""
    return _add_user(
        check_username(username),
        password_file=password_file,
        acl_file=acl_file,
        household=check_username(household),
        host=host,
        port=port,
        central_user=username,
        password=password,
        owner=owner,
    )


def add_ha(
    username: str = DEFAULT_HA_USER,
    *,
    password_file: Path,
    acl_file: Path,
    household: str,
    prefix: str = DEFAULT_HA_PREFIX,
    host: str = "127.0.0.1",
    port: int = 1883,
    central_user: str = DEFAULT_CENTRAL_USER,
    password: str | None = None,
    owner: str | None = None,
) -> NodeCredentials:
    """Create (or rotate) Home Assistant's broker login (``acl-ha.template``).

    It reads the discovery configs and every state topic of the household, writes
    ``{prefix}/status`` and the nodes' command topics; nothing else.
    """
    check_username(username)
    if username == central_user:
        raise CredentialsError(f"{username!r} is central's broker user")
    block = render_acl_ha(username, check_username(household), prefix)
    password = password or secrets.token_urlsafe(24)
    set_password(Path(password_file), username, password, owner=owner)
    update_acl(
        Path(acl_file), household, central_user=central_user, add_blocks=[block], owner=owner
    )
    return NodeCredentials(username, password, household, host, port)


def remove_node(
    name: str,
    *,
    password_file: Path,
    acl_file: Path,
    household: str,
    central_user: str = DEFAULT_CENTRAL_USER,
    owner: str | None = None,
) -> bool:
    """Take node ``name``'s login and ACL block away; ``False`` if it had no login."""
    removed = remove_user(Path(password_file), check_username(name), owner=owner)
    update_acl(
        Path(acl_file), household, central_user=central_user, remove_nodes=[name], owner=owner
    )
    return removed


@dataclass(frozen=True)
class TlsListener:
    """The optional MQTT-over-TLS listener for nodes on the LAN."""

    certfile: Path
    keyfile: Path
    port: int = 8883
    bind_address: str = "0.0.0.0"


def render_broker_config(
    *,
    password_file: Path,
    acl_file: Path,
    persistence_location: Path,
    port: int = 1883,
    bind_address: str = "127.0.0.1",
    tls: TlsListener | None = None,
    run_as_user: str = "mosquitto",
    log_dest: str = "stderr",
    max_queued_messages: int = 100_000,
    max_queued_bytes: int = 0,
    max_inflight_messages: int = 100,
    max_packet_size: int = 4 * 1024 * 1024,
    autosave_interval: int = 60,
    persistent_client_expiration: str = "14d",
) -> str:
    """``mosquitto.conf.template`` (plus ``tls-listener.conf.template``) filled in."""
    directory = template_dir()
    tls_text = ""
    if tls is not None:
        tls_template = Template((directory / "tls-listener.conf.template").read_text("utf-8"))
        tls_text = tls_template.substitute(
            tls_port=tls.port,
            tls_bind_address=tls.bind_address,
            certfile=tls.certfile,
            keyfile=tls.keyfile,
        )
    template = Template((directory / "mosquitto.conf.template").read_text(encoding="utf-8"))
    return template.substitute(
        password_file=password_file,
        acl_file=acl_file,
        persistence_location=f"{str(persistence_location).rstrip('/')}/",
        port=port,
        bind_address=bind_address,
        tls_listener=tls_text,
        run_as_user=run_as_user,
        log_dest=log_dest,
        max_queued_messages=max_queued_messages,
        max_queued_bytes=max_queued_bytes,
        max_inflight_messages=max_inflight_messages,
        max_packet_size=max_packet_size,
        autosave_interval=autosave_interval,
        persistent_client_expiration=persistent_client_expiration,
    )
