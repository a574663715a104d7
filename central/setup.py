"""``kitchen-central setup``: bring a machine to a state where central can run, idempotently.

Steps, each reported as ``created``, ``changed`` or ``unchanged``:

1. PostgreSQL: central's role (a random password, kept once made) and database, then the
   schema (migrations), through an administrator connection (``--admin-dsn``);
2. secrets: the database DSN and central's broker password, each in its own file readable
   only by root and the service's group;
3. the broker: central's login in the Mosquitto password file, the household ACL, a server
   certificate for the LAN listener from the household CA, and a complete ``kitchen.conf``;
4. central's TLS certificates (the household CA is made here when there is none) and its
   configuration file, which is written once and then left to the person editing it.

A second run changes nothing. Every path is an option, so tests run it into temporary
directories against a throw-away database and their own Mosquitto.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import grp
import json
import os
import pwd
import secrets
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import asyncpg

from appliance.security.config import TlsConfig
from central.credentials import (
    DEFAULT_CENTRAL_USER,
    TlsListener,
    add_central,
    check_username,
    render_broker_config,
    update_acl,
    verify_password,
)

ROOT_ONLY = 0o600
SERVICE_READABLE = 0o640


@dataclass
class SetupOptions:
    """Where setup writes; the defaults are those of a Debian or Raspberry Pi OS machine."""

    config: Path = Path("/etc/kitchen-central/config.toml")
    household: str = "home"
    admin_dsn: str = "postgresql://postgres@/postgres?host=/var/run/postgresql"
    db_name: str = "kitchen"
    db_role: str = "kitchen"
    db_host: str = "127.0.0.1"
    db_port: int = 5432
    data_dir: Path = Path("/var/lib/kitchen-central")
    broker_dir: Path = Path("/etc/mosquitto")
    broker_data: Path = Path("/var/lib/mosquitto")
    broker_port: int = 1883
    broker_tls_port: int = 8883
    broker_tls_bind: str = "0.0.0.0"
    # The user Mosquitto drops to (the owner of its files); None: leave owners alone.
    broker_user: str | None = "mosquitto"
    # The group that may read central's secrets and configuration (the service's group).
    service_group: str | None = "kitchen-central"
    http_host: str = "0.0.0.0"
    http_port: int = 8090
    https_port: int = 8443
    hostname: str = field(default_factory=lambda: socket.gethostname().split(".")[0].lower())
    # Where a node keeps the household CA certificate (what ``node add`` tells it).
    node_ca_file: str = "/etc/kitchen-node/household-ca.pem"

    @property
    def dsn_file(self) -> Path:
        """Central's database DSN (with its password)."""
        return self.config.parent / "dsn"

    @property
    def mqtt_password_file(self) -> Path:
        """Central's broker password."""
        return self.config.parent / "mqtt-password"

    @property
    def broker_config(self) -> Path:
        """The complete Mosquitto configuration (the systemd drop-in points Mosquitto at it)."""
        return self.broker_dir / "kitchen.conf"


class SetupError(Exception):
    """A step that cannot be done; the message says what to do."""


class Report:
    """What each step did, printed as it goes."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def add(self, what: str, outcome: str) -> None:
        """Record and print one step's outcome."""
        self.lines.append((what, outcome))
        sys.stdout.write(f"  {outcome:<9} {what}\n")

    @property
    def changed(self) -> bool:
        """True when any step created or changed something."""
        return any(outcome != "unchanged" for _, outcome in self.lines)


# --- files -------------------------------------------------------------------------------------


def _ids(user: str | None, group: str | None) -> tuple[int, int]:
    uid = pwd.getpwnam(user).pw_uid if user else -1
    gid = grp.getgrnam(group).gr_gid if group else -1
    return uid, gid


def _write(path: Path, text: str, mode: int, user: str | None, group: str | None) -> str:
    """Write ``path`` atomically when its content, mode or owner differ; the outcome."""
    uid, gid = _ids(user, group)
    if path.exists():
        st = path.stat()
        same_owner = uid in (-1, st.st_uid) and gid in (-1, st.st_gid)
        same_mode = (st.st_mode & 0o777) == mode
        if same_owner and same_mode and path.read_text(encoding="utf-8") == text:
            return "unchanged"
        outcome = "changed"
    else:
        outcome = "created"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if (uid, gid) != (-1, -1):
            os.chown(tmp, uid, gid)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return outcome


def _fix_owner(path: Path, mode: int, user: str | None, group: str | None) -> str:
    """Give an existing file ``mode`` and owner; the outcome."""
    uid, gid = _ids(user, group)
    st = path.stat()
    if (st.st_mode & 0o777) == mode and uid in (-1, st.st_uid) and gid in (-1, st.st_gid):
        return "unchanged"
    os.chmod(path, mode)
    os.chown(path, uid, gid)
    return "changed"


def _read_secret(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


# --- PostgreSQL --------------------------------------------------------------------------------


@contextlib.contextmanager
def _effective_user(name: str | None) -> Iterator[None]:
    """Act as ``name`` while connecting: Debian lets the OS user ``postgres`` into PostgreSQL
    by peer authentication on the Unix socket, which reads the effective uid at connect."""
    if name is None or os.geteuid() != 0:
        yield
        return
    entry = pwd.getpwnam(name)
    os.setegid(entry.pw_gid)
    os.seteuid(entry.pw_uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


async def _admin_connect(dsn: str) -> asyncpg.Connection:
    parts = urlsplit(dsn)
    local = not parts.hostname and parts.username == "postgres"
    try:
        with _effective_user("postgres" if local and _user_exists("postgres") else None):
            return await asyncpg.connect(dsn)
    except (OSError, asyncpg.PostgresError) as exc:
        raise SetupError(
            f"cannot reach PostgreSQL as an administrator ({exc}); is it installed and "
            "running (apt-get install postgresql)? --admin-dsn names another server"
        ) from None


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _literal(text: str) -> str:
    """An SQL string literal (CREATE/ALTER ROLE take no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _central_dsn(options: SetupOptions, password: str) -> str:
    return (
        f"postgresql://{quote(options.db_role)}:{quote(password, safe='')}"
        f"@{options.db_host}:{options.db_port}/{quote(options.db_name)}"
    )


async def _database(options: SetupOptions, report: Report) -> str:
    """Role and database; the DSN central uses (its password kept from an earlier run)."""
    role, name = options.db_role, options.db_name
    known = _read_secret(options.dsn_file)
    known_password = urlsplit(known).password if known else None
    conn = await _admin_connect(options.admin_dsn)
    try:
        exists = await conn.fetchval("SELECT true FROM pg_roles WHERE rolname = $1", role)
        ident = '"' + role.replace('"', '""') + '"'
        if not exists:
            # A DSN file restored from a backup keeps its password.
            password = known_password or secrets.token_urlsafe(24)
            await conn.execute(f"CREATE ROLE {ident} LOGIN PASSWORD {_literal(password)}")
            report.add(f"PostgreSQL role {role}", "created")
        elif known_password is None:
            password = secrets.token_urlsafe(24)
            await conn.execute(f"ALTER ROLE {ident} LOGIN PASSWORD {_literal(password)}")
            report.add(f"PostgreSQL role {role} (new password: no DSN file)", "changed")
        else:
            password = known_password
            report.add(f"PostgreSQL role {role}", "unchanged")
        if await conn.fetchval("SELECT true FROM pg_database WHERE datname = $1", name):
            report.add(f"PostgreSQL database {name}", "unchanged")
        else:
            db = '"' + name.replace('"', '""') + '"'
            await conn.execute(f"CREATE DATABASE {db} OWNER {ident}")
            report.add(f"PostgreSQL database {name}", "created")
    finally:
        await conn.close()
    dsn = _central_dsn(options, password)
    from central.db.migrations import migrate

    try:
        try:
            central = await asyncpg.connect(dsn)
        except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
            # The DSN file's password is not the role's (files restored onto a machine whose
            # role was made anew): make it the role's, as the file is what central reads.
            conn = await _admin_connect(options.admin_dsn)
            try:
                ident = '"' + role.replace('"', '""') + '"'
                await conn.execute(f"ALTER ROLE {ident} LOGIN PASSWORD {_literal(password)}")
            finally:
                await conn.close()
            report.add(f"PostgreSQL role {role} (password from {options.dsn_file})", "changed")
            central = await asyncpg.connect(dsn)
    except (OSError, asyncpg.PostgresError) as exc:
        raise SetupError(
            f"central cannot log in to PostgreSQL as {role} on {options.db_host}:"
            f"{options.db_port} ({exc}); pg_hba.conf must allow it (Debian's default does)"
        ) from None
    try:
        applied = await migrate(central)
    finally:
        await central.close()
    if applied:
        report.add(f"database schema (migrations {', '.join(map(str, applied))})", "changed")
    else:
        report.add("database schema", "unchanged")
    return dsn


# --- the broker --------------------------------------------------------------------------------


def _broker(options: SetupOptions, report: Report) -> str:
    """Central's broker login, the ACL, the LAN listener's certificate and ``kitchen.conf``;
    central's broker password."""
    from appliance.security.tls import TlsPaths, ensure_certificates

    passwd = options.broker_dir / "passwd"
    acl = options.broker_dir / "acl"
    user = options.broker_user
    options.broker_dir.mkdir(parents=True, exist_ok=True)
    if not options.broker_data.exists():
        options.broker_data.mkdir(parents=True, mode=0o750)
        if user is not None:
            shutil.chown(options.broker_data, user, user)
        report.add(f"broker persistence {options.broker_data}", "created")
    password = _read_secret(options.mqtt_password_file)
    entry = _entry(passwd, DEFAULT_CENTRAL_USER)
    acl_before = _snapshot(acl)
    if password is not None and entry is not None and verify_password(password, entry):
        report.add(f"broker login {DEFAULT_CENTRAL_USER!r} in {passwd}", "unchanged")
    else:
        password = add_central(
            password_file=passwd,
            acl_file=acl,
            household=options.household,
            port=options.broker_port,
            owner=user,
        ).password
        report.add(f"broker login {DEFAULT_CENTRAL_USER!r} in {passwd}", "changed")
    update_acl(acl, options.household, owner=None if _owned(acl, user) else user)
    acl_outcome = "unchanged" if acl_before == _snapshot(acl) else "changed"
    if user is not None:  # Mosquitto reads both after dropping to its user
        owners = [_fix_owner(passwd, 0o600, user, user), _fix_owner(acl, 0o640, user, user)]
        acl_outcome = "changed" if "changed" in owners else acl_outcome
    report.add(f"broker ACL {acl}", acl_outcome)
    report.add(
        f"central's broker password {options.mqtt_password_file}",
        _write(
            options.mqtt_password_file, password + "\n", SERVICE_READABLE, None, _group(options)
        ),
    )

    # The LAN listener's certificate, from the household CA in central's data_dir.
    central_tls = _central_tls(options)
    ca = TlsPaths.for_config(central_tls, options.data_dir)
    broker_tls = central_tls.model_copy(update={"ca_cert": ca.ca_cert, "ca_key": ca.ca_key})
    tls_dir = options.broker_dir / "kitchen"
    paths = TlsPaths.for_config(broker_tls, tls_dir)
    before = _snapshot(paths.server_cert, paths.server_key)
    ensure_certificates(broker_tls, tls_dir, hostname=options.hostname)
    if user is not None:  # Mosquitto reads them after dropping to its user
        uid, gid = _ids(user, user)
        for path in (paths.server_cert, paths.server_key, paths.server_cert.parent):
            os.chown(path, uid, gid)
    outcome = "unchanged" if before == _snapshot(paths.server_cert, paths.server_key) else "created"
    report.add(f"broker certificate {paths.server_cert}", outcome)

    text = render_broker_config(
        password_file=passwd,
        acl_file=acl,
        persistence_location=options.broker_data,
        port=options.broker_port,
        bind_address="127.0.0.1",
        tls=TlsListener(
            paths.server_cert, paths.server_key, options.broker_tls_port, options.broker_tls_bind
        ),
        run_as_user=user or pwd.getpwuid(os.getuid()).pw_name,
    )
    report.add(
        f"broker configuration {options.broker_config}",
        _write(options.broker_config, text, 0o644, None, None),
    )
    return password


def _entry(passwd: Path, user: str) -> str | None:
    try:
        lines = passwd.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        name, _, encoded = line.partition(":")
        if name == user:
            return encoded
    return None


def _owned(path: Path, user: str | None) -> bool:
    if user is None or not path.exists():
        return user is None
    return path.stat().st_uid == pwd.getpwnam(user).pw_uid


def _snapshot(*paths: Path) -> list[bytes | None]:
    return [p.read_bytes() if p.exists() else None for p in paths]


def _group(options: SetupOptions) -> str | None:
    group = options.service_group
    if group is None:
        return None
    try:
        grp.getgrnam(group)
    except KeyError:
        raise SetupError(
            f"the group {group!r} does not exist: 'kitchen-central install-unit' creates the "
            "service user and group (or pass --service-group '')"
        ) from None
    return group


# --- central's own files -----------------------------------------------------------------------


def _central_tls(options: SetupOptions) -> TlsConfig:
    return TlsConfig(
        enabled=True,
        port=options.https_port,
        hostnames=[f"{options.hostname}.local", options.hostname],
    )


def _central_certificates(options: SetupOptions, report: Report) -> None:
    from appliance.security.tls import TlsPaths, ensure_certificates

    tls = _central_tls(options)
    paths = TlsPaths.for_config(tls, options.data_dir)
    files = (paths.ca_cert, paths.ca_key, paths.server_cert, paths.server_key)
    before = _snapshot(*files)
    ensure_certificates(tls, options.data_dir, hostname=options.hostname)
    outcome = "unchanged" if before == _snapshot(*files) else "created"
    report.add(f"household CA and central's certificate in {paths.ca_cert.parent}", outcome)


def render_config(options: SetupOptions) -> str:
    """Central's configuration file as setup writes it the first time."""
    host = f"{options.hostname}.local"
    return (
        "# Written by 'kitchen-central setup'; yours to edit (setup never rewrites it).\n"
        "# Every key: docs/central.md. Check it with 'kitchen-central config'.\n"
        "[central]\n"
        f"household = {json.dumps(options.household)}\n"
        'instance = "central-1"\n'
        f"data_dir = {json.dumps(str(options.data_dir))}\n\n"
        "[database]\n"
        f"dsn_file = {json.dumps(str(options.dsn_file))}\n\n"
        "[mqtt]\n"
        'host = "127.0.0.1"\n'
        f"port = {options.broker_port}\n"
        f'username = "{DEFAULT_CENTRAL_USER}"\n'
        f"password_file = {json.dumps(str(options.mqtt_password_file))}\n\n"
        "# The dashboard on the LAN: HTTPS on tls.port; http.port serves the CA download page.\n"
        "[http]\n"
        f"host = {json.dumps(options.http_host)}\n"
        f"port = {options.http_port}\n\n"
        "[tls]\n"
        "enabled = true\n"
        f"port = {options.https_port}\n"
        f"hostnames = [{json.dumps(host)}, {json.dumps(options.hostname)}]\n\n"
        "# What 'kitchen-central node add' tells a node: the broker's TLS listener.\n"
        "[nodes]\n"
        f"broker_host = {json.dumps(host)}\n"
        f"broker_port = {options.broker_tls_port}\n"
        "broker_tls = true\n"
        f"ca_file = {json.dumps(options.node_ca_file)}\n"
    )


def _config(options: SetupOptions, report: Report) -> None:
    group = _group(options)
    if options.config.exists():
        # Its content is the person's; its mode and group are what lets the service read it.
        outcome = _fix_owner(options.config, SERVICE_READABLE, None, group)
        report.add(f"central configuration {options.config} (content kept)", outcome)
        return
    report.add(
        f"central configuration {options.config}",
        _write(options.config, render_config(options), SERVICE_READABLE, None, group),
    )


def next_steps(options: SetupOptions) -> str:
    """What to do after setup."""
    host = f"{options.hostname}.local"
    ca = options.data_dir / "tls" / "ca.crt"
    return (
        "\nNext steps:\n"
        "  1. sudo kitchen-central install-unit      # if not done: the service and broker\n"
        "  2. sudo kitchen-central user add NAME     # a dashboard login\n"
        f"  3. open https://{host}:{options.https_port}/ (the CA to trust: "
        f"http://{host}:{options.http_port}/)\n"
        "  4. per node: sudo kitchen-central node add NODE-ID --owner mosquitto\n"
        "     then systemctl reload mosquitto, paste the printed [sync] into the node's\n"
        f"     config and copy {ca} to the node as {options.node_ca_file}\n"
    )


async def _run(options: SetupOptions, report: Report) -> None:
    check_username(options.household)
    group = _group(options)
    dsn = await _database(options, report)
    report.add(
        f"database DSN {options.dsn_file}",
        _write(options.dsn_file, dsn + "\n", SERVICE_READABLE, None, group),
    )
    _central_certificates(options, report)
    _broker(options, report)
    # data_dir stays root's: systemd's StateDirectory= hands it to the service user at start.
    _config(options, report)


def setup(options: SetupOptions) -> Report:
    """Run every step; raise SetupError when one cannot be done."""
    report = Report()
    asyncio.run(_run(options, report))
    return report


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """The ``setup`` command and its options (every path, for tests and unusual machines)."""
    d = SetupOptions()
    p: argparse.ArgumentParser = sub.add_parser(
        "setup",
        help="create the database, role, broker files and central's configuration (idempotent)",
    )
    p.add_argument("--config", type=Path, dest="sub_config", help=f"[{d.config}]")
    p.add_argument("--household", default=d.household)
    p.add_argument("--admin-dsn", default=d.admin_dsn, help="a PostgreSQL superuser connection")
    p.add_argument("--db-name", default=d.db_name)
    p.add_argument("--db-role", default=d.db_role)
    p.add_argument("--db-host", default=d.db_host)
    p.add_argument("--db-port", type=int, default=d.db_port)
    p.add_argument("--data-dir", type=Path, default=d.data_dir)
    p.add_argument("--broker-dir", type=Path, default=d.broker_dir)
    p.add_argument("--broker-data", type=Path, default=d.broker_data)
    p.add_argument("--broker-port", type=int, default=d.broker_port)
    p.add_argument("--broker-tls-port", type=int, default=d.broker_tls_port)
    p.add_argument("--broker-tls-bind", default=d.broker_tls_bind)
    p.add_argument("--broker-user", default=d.broker_user, help="'' leaves owners alone")
    p.add_argument("--service-group", default=d.service_group, help="'' for none")
    p.add_argument("--http-host", default=d.http_host)
    p.add_argument("--http-port", type=int, default=d.http_port)
    p.add_argument("--https-port", type=int, default=d.https_port)
    p.add_argument("--hostname", default=d.hostname)
    return p


def options_from(args: argparse.Namespace) -> SetupOptions:
    """The options of a parsed ``setup`` command line."""
    return SetupOptions(
        config=args.sub_config or args.config or SetupOptions.config,
        household=args.household,
        admin_dsn=args.admin_dsn,
        db_name=args.db_name,
        db_role=args.db_role,
        db_host=args.db_host,
        db_port=args.db_port,
        data_dir=args.data_dir,
        broker_dir=args.broker_dir,
        broker_data=args.broker_data,
        broker_port=args.broker_port,
        broker_tls_port=args.broker_tls_port,
        broker_tls_bind=args.broker_tls_bind,
        broker_user=args.broker_user or None,
        service_group=args.service_group or None,
        http_host=args.http_host,
        http_port=args.http_port,
        https_port=args.https_port,
        hostname=args.hostname,
    )


def main(args: argparse.Namespace) -> int:
    """Run ``kitchen-central setup``; the exit code."""
    options = options_from(args)
    sys.stdout.write("kitchen-central setup:\n")
    try:
        report = setup(options)
    except (SetupError, OSError, KeyError, ValueError) as exc:
        sys.stderr.write(f"kitchen-central setup: {exc}\n")
        return 1
    sys.stdout.write("Nothing changed.\n" if not report.changed else "")
    sys.stdout.write(next_steps(options))
    return 0
