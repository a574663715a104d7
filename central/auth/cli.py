"""``kitchen-central user ...`` and ``kitchen-central token ...``: accounts and API tokens
managed on central's own machine (they write straight into PostgreSQL)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from central.auth import accounts, tokens
from central.auth.accounts import AccountError
from central.auth.passwords import PasswordError, Passwords, check_password
from central.auth.tokens import SCOPES, TokenError
from central.config import CentralConfig
from central.db.pool import open_pool


def add_parsers(sub: Any) -> list[argparse.ArgumentParser]:
    """Add the ``user`` and ``token`` commands; return the leaf parsers (for ``--config``)."""
    user = sub.add_parser("user", help="manage dashboard accounts")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create an account (asks for its password twice)")
    passwd = user_sub.add_parser("passwd", help="set an account's password (logs it out)")
    for child in (add, passwd):
        child.add_argument("name")
        child.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin"
        )
    listing = user_sub.add_parser("list", help="list the accounts")
    remove = user_sub.add_parser("remove", help="delete an account and its sessions")
    remove.add_argument("name")
    token = sub.add_parser("token", help="manage API tokens for scripts and integrations")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="make a token and print it (only this once)")
    create.add_argument("--name", required=True)
    create.add_argument("--scope", choices=SCOPES, default="full")
    token_list = token_sub.add_parser("list", help="list the tokens (never their secrets)")
    revoke = token_sub.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name")
    return [add, passwd, listing, remove, create, token_list, revoke]


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise PasswordError("the two passwords differ")
    return check_password(password)


async def _with_pool(config: CentralConfig, work: Callable[[asyncpg.Pool], Awaitable[int]]) -> int:
    pool = await open_pool(config.database.resolved_dsn(), 1, 2)
    try:
        return await work(pool)
    finally:
        await pool.close()


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def run(config: CentralConfig, args: argparse.Namespace) -> int:
    """Run a ``user`` or ``token`` command; the exit code."""
    try:
        if args.command == "user":
            password = _password(args) if args.user_command in ("add", "passwd") else ""
            return asyncio.run(_with_pool(config, lambda pool: _user(pool, args, password)))
        return asyncio.run(_with_pool(config, lambda pool: _token(pool, args)))
    except (AccountError, PasswordError, TokenError) as exc:
        sys.stderr.write(f"kitchen-central: {exc}\n")
        return 1
    except (OSError, asyncpg.PostgresError) as exc:
        sys.stderr.write(f"kitchen-central: the database is unavailable: {exc}\n")
        return 1


async def _user(pool: asyncpg.Pool, args: argparse.Namespace, password: str) -> int:
    command = args.user_command
    if command == "list":
        for row in await accounts.names(pool):
            _out(f"{row['name']}\t{row['created_at']}")
        return 0
    if command == "remove":
        await accounts.remove(pool, args.name)
        _out(f"removed {args.name!r} (its sessions ended)")
        return 0
    password_hash = await Passwords(1).hash(password)
    if command == "add":
        account = await accounts.create(pool, args.name, password_hash)
        _out(f"added {account.name!r}: log in on the dashboard")
    else:
        await accounts.set_password(pool, args.name, password_hash)
        _out(f"password of {args.name!r} changed; its sessions ended")
    return 0


async def _token(pool: asyncpg.Pool, args: argparse.Namespace) -> int:
    command = args.token_command
    if command == "create":
        _, secret = await tokens.create(pool, args.name, args.scope)
        sys.stderr.write(
            f"# token {args.name!r} ({args.scope}); it is shown only now. Use it as\n"
            "# 'Authorization: Bearer <token>'; revoke it with "
            f"'kitchen-central token revoke {args.name}'.\n"
        )
        _out(secret)
        return 0
    if command == "list":
        for t in await tokens.listing(pool):
            _out(f"{t['name']}\t{t['scope']}\t{t['created_at']}\tlast used {t['last_used'] or '-'}")
        return 0
    await tokens.revoke(pool, name=args.name)
    _out(f"revoked {args.name!r}")
    return 0
