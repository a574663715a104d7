"""Listening sockets that a slow or greedy client cannot use up (node and central share this).

aiohttp on its own closes an idle connection only after an hour and never times out a request
that is sent slowly, and asyncio accepts connections until the process runs out of file
descriptors. Three small pieces close those gaps:

- ``ConnectionGuard`` counts the open connections, per client address and in total, and decides
  at ``accept()`` whether a new one may stay. That is the one place that sees a connection
  before its TLS handshake, so it is done by the listening socket itself (``_GuardedListener``,
  handed to ``loop.create_server(sock=...)``; asyncio's selector loop calls its ``accept()``).
  When the total is reached, the connection that has waited longest without a request in
  progress is shut down to make room; with none, the newcomer is refused. Refusals are logged
  one line per interval with counts (``RateLimitedLog``), never one line each.
- ``GuardedHandler`` (aiohttp's ``RequestHandler``) gives a client ``request_timeout`` seconds
  from the first byte of a request (or from connecting) to the last byte of its body. A head
  that does not arrive in time closes the connection; a body that does not makes the handler's
  read fail with 408. WebSockets, once upgraded, are not timed; idle keep-alive connections
  close after ``keepalive_timeout``.
- ``GuardedSite`` is an aiohttp site that listens through both, with the TLS handshake bounded
  by ``request_timeout`` too.

It depends on aiohttp's ``RequestHandler`` internals (``_messages``, ``_upgraded``); the tests in
``tests/test_connection_limits.py`` fail if those change.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import resource
import socket
import ssl
import weakref
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_server import Server
from pydantic import Field, model_validator

from appliance.ratelog import RateLimitedLog
from appliance.settings_base import Section

LOG = logging.getLogger(__name__)

#: Descriptors kept free for everything but client connections (database, log, MQTT, devices).
DESCRIPTOR_RESERVE = 64
#: At most this many refusals per wake-up of the listener, so a flood cannot starve the loop.
_REFUSALS_PER_WAKEUP = 64


@dataclass(frozen=True)
class ConnectionLimits:
    """How many connections a server keeps and how long a client may take to send a request."""

    max_connections: int = 512
    max_connections_per_client: int = 32
    request_timeout: float = 10.0
    keepalive_timeout: float = 75.0
    log_interval: float = 60.0


class ConnectionSettings(Section):
    """The ``[http]`` keys that limit connections (node and central share them)."""

    # Connections kept open at once, in total and per client address; keep the total well
    # below the descriptor limit (the unit's LimitNOFILE=).
    max_connections: int = Field(default=512, ge=8, le=65_536)
    max_connections_per_client: int = Field(default=32, ge=1, le=65_536)
    # Seconds a client may take to send one request: request line, headers and body.
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Seconds an idle keep-alive connection stays open between requests.
    keepalive_seconds: float = Field(default=75.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _per_client_within_total(self) -> ConnectionSettings:
        if self.max_connections_per_client > self.max_connections:
            raise ValueError("max_connections_per_client must not exceed max_connections")
        return self

    def limits(self) -> ConnectionLimits:
        """These settings as the guard takes them."""
        return ConnectionLimits(
            max_connections=self.max_connections,
            max_connections_per_client=self.max_connections_per_client,
            request_timeout=self.request_timeout_seconds,
            keepalive_timeout=self.keepalive_seconds,
        )


def fit_descriptor_limit(limits: ConnectionLimits) -> ConnectionLimits:
    """Lower ``max_connections`` below this process's descriptor limit, with a warning."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or limits.max_connections + DESCRIPTOR_RESERVE <= soft:
        return limits
    fitted = max(8, soft - DESCRIPTOR_RESERVE)
    LOG.warning(
        "http.max_connections %d lowered to %d: only %d file descriptors are allowed "
        "(raise LimitNOFILE= in the systemd unit)",
        limits.max_connections,
        fitted,
        soft,
    )
    return replace(limits, max_connections=fitted)


def _client(addr: Any) -> str:
    host = str(addr[0]) if isinstance(addr, tuple) and addr else str(addr)
    return host.removeprefix("::ffff:")  # an IPv4 client on a dual-stack socket


class ConnectionGuard:
    """Admits connections within the limits and remembers which may be shut to make room."""

    def __init__(self, limits: ConnectionLimits, name: str = "HTTP") -> None:
        self.limits = fit_descriptor_limit(limits)
        self.total = 0
        self.per_client: dict[str, int] = {}
        # fd -> socket of connections with no request in progress, longest waiting first.
        # Weak: a socket collected without close() still gives its place back (its finalizer).
        self._idle: weakref.WeakValueDictionary[int, socket.socket] = weakref.WeakValueDictionary()
        self._open: weakref.WeakValueDictionary[int, socket.socket] = weakref.WeakValueDictionary()
        self.refusals = RateLimitedLog(
            LOG, limits.log_interval, f"{name} connections refused or cut"
        )

    def admit(self, fd: int, addr: Any) -> bool:
        """Whether the connection just accepted on ``fd`` from ``addr`` may stay."""
        client = _client(addr)
        if self.per_client.get(client, 0) >= self.limits.max_connections_per_client:
            self.refusals.note("over the per-client limit", client)
            return False
        if self.total >= self.limits.max_connections and not self._make_room():
            self.refusals.note("over the total limit", client)
            return False
        self.total += 1
        self.per_client[client] = self.per_client.get(client, 0) + 1
        return True

    def opened(self, fd: int, conn: socket.socket) -> None:
        """Track an admitted connection's socket (idle until a request arrives)."""
        self._open[fd] = conn
        self._idle[fd] = conn

    def _make_room(self) -> bool:
        """Shut the longest-idle connection (its fd closes on the loop's next turn)."""
        while (fd := next(iter(self._idle), None)) is not None:
            conn = self._idle.pop(fd, None)
            if conn is None:
                continue
            with contextlib.suppress(OSError):
                peer = _client(conn.getpeername())
                conn.shutdown(socket.SHUT_RDWR)
                self.refusals.note("idle, closed to make room", peer)
                return True
        return False

    def busy(self, fd: int) -> None:
        """A request is in progress on ``fd``: never shut it to make room."""
        self._idle.pop(fd, None)

    def idle(self, fd: int) -> None:
        """``fd`` waits for its next request: it may be shut to make room."""
        conn = self._open.get(fd)
        if conn is not None:
            self._idle.pop(fd, None)
            self._idle[fd] = conn

    def timed_out(self, client: str, what: str) -> None:
        """Count a connection cut for sending too slowly."""
        self.refusals.note(what, client)

    def released(self, fd: int, client: str) -> None:
        """A tracked connection closed."""
        self._open.pop(fd, None)
        self._idle.pop(fd, None)
        self.total -= 1
        left = self.per_client.get(client, 1) - 1
        if left > 0:
            self.per_client[client] = left
        else:
            self.per_client.pop(client, None)

    def stats(self) -> dict[str, Any]:
        """Open connections, clients and refusals so far (for health pages and tests)."""
        return {
            "open": self.total,
            "clients": len(self.per_client),
            "refused": dict(self.refusals.totals),
        }

    def close(self) -> None:
        """Log the last counts; nothing stays scheduled."""
        self.refusals.close()


class _TrackedConnection(socket.socket):
    """An accepted socket that tells the guard when it closes (or is collected unclosed)."""

    _release: weakref.finalize[Any, Any]

    def close(self) -> None:
        """Close the socket and free its place."""
        super().close()
        self._release()


class _GuardedListener(socket.socket):
    """A listening socket whose ``accept()`` asks the guard before returning a connection."""

    guard: ConnectionGuard

    def accept(self) -> tuple[socket.socket, Any]:
        """The next admitted connection; refused ones are closed here, unseen by asyncio."""
        for _ in range(_REFUSALS_PER_WAKEUP):
            fd, addr = self._accept()  # type: ignore[attr-defined]  # socket.accept does so too
            if not self.guard.admit(fd, addr):
                socket.close(fd)
                continue
            conn = _TrackedConnection(self.family, self.type, self.proto, fileno=fd)
            conn._release = weakref.finalize(conn, self.guard.released, fd, _client(addr))
            self.guard.opened(fd, conn)
            return conn, addr
        # asyncio reads this as "nothing more to accept now" and tries again next turn.
        raise BlockingIOError


def _listen(host: str, port: int, guard: ConnectionGuard, backlog: int) -> _GuardedListener:
    info = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[
        0
    ]
    sock = _GuardedListener(info[0], info[1], info[2])
    try:
        sock.guard = guard
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


class GuardedHandler(RequestHandler):
    """aiohttp's connection handler with a deadline on sending each request."""

    def __init__(
        self,
        manager: Server,
        guard: ConnectionGuard,
        *,
        loop: asyncio.AbstractEventLoop,
        **kwargs: Any,
    ) -> None:
        # lingering_time=0: no waiting for the rest of a body nobody reads; the deadline
        # below already bounds how long a body may take.
        super().__init__(
            manager,
            loop=loop,
            keepalive_timeout=guard.limits.keepalive_timeout,
            lingering_time=0,
            # No access log (as the node's runner has none); aiohttp tests it for truth.
            access_log=None,  # type: ignore[arg-type]
            **kwargs,
        )
        self._guard = guard
        self._fd = -1
        self._client = "?"
        self._deadline: asyncio.TimerHandle | None = None
        self._body: StreamReader | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the clock: a new connection must send its request in time."""
        sock = transport.get_extra_info("socket")
        self._fd = sock.fileno() if sock is not None else -1
        self._client = _client(transport.get_extra_info("peername"))
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: BaseException | None) -> None:
        """Stop the clock."""
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Parse as aiohttp does; arm the deadline at a request's first byte, disarm at its last."""
        before = len(self._messages)
        had_body = self._body is not None
        super().data_received(data)
        if self._upgraded:  # a WebSocket (or other upgrade) is not a request being sent
            self._disarm()
            self._guard.busy(self._fd)
        elif len(self._messages) > before:
            self._guard.busy(self._fd)
            payload = self._messages[-1][1]
            if payload.is_eof():
                self._disarm()
            else:
                if self._deadline is None:
                    self._arm()
                self._body = payload
                payload.on_eof(self._body_done)
        elif data and self._deadline is None and not had_body:
            self._arm()

    async def finish_response(self, request: Any, resp: Any, start_time: Any) -> Any:
        """After each response the connection waits for the next request: idle again."""
        try:
            return await super().finish_response(request, resp, start_time)
        finally:
            self._guard.idle(self._fd)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self._loop.call_later(self._guard.limits.request_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _body_done(self) -> None:
        self._body = None
        self._disarm()

    def _expired(self) -> None:
        self._deadline = None
        seconds = self._guard.limits.request_timeout
        body, self._body = self._body, None
        if body is not None and not body.is_eof():
            # The handler is reading (or will read) this body: its read fails with a 408.
            self._guard.timed_out(self._client, "too slow to send a request body")
            body.set_exception(
                web.HTTPRequestTimeout(text=f"the request body did not arrive within {seconds} s")
            )
            self.close()
            return
        self._guard.timed_out(self._client, "too slow to send a request")
        self.force_close()


def bound_port(site: web.BaseSite) -> int:
    """The port a started TCP site listens on (useful when it was asked for port 0)."""
    server = getattr(site, "_server", None)
    sockets = getattr(server, "sockets", None) or []
    for sock in sockets:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            port: int = sock.getsockname()[1]
            return port
    raise RuntimeError(f"{site.name} is not listening")


class GuardedSite(web.BaseSite):
    """An aiohttp site on ``host:port`` whose connections ``guard`` limits and times."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        guard: ConnectionGuard,
        *,
        ssl_context: ssl.SSLContext | None = None,
        backlog: int = 128,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self._host = host
        self._port = port
        self._guard = guard

    @property
    def name(self) -> str:
        """The site's URL as aiohttp names sites."""
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self._port}"

    async def start(self) -> None:
        """Bind (a busy port raises OSError here) and serve through the guard."""
        sock = _listen(self._host, self._port, self._guard, self._backlog)
        try:
            await super().start()
            server = self._runner.server
            assert server is not None
            loop = asyncio.get_running_loop()
            factory = functools.partial(GuardedHandler, server, self._guard, loop=loop)
            tls: dict[str, Any] = {}
            if self._ssl_context is not None:
                tls = {
                    "ssl": self._ssl_context,
                    "ssl_handshake_timeout": self._guard.limits.request_timeout,
                }
            self._server = await loop.create_server(
                factory, sock=sock, backlog=self._backlog, **tls
            )
        except BaseException:
            sock.close()
            raise
