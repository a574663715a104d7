"""The household CA and server certificate: what iPadOS requires, files, renewal, sharing, HTTPS."""

from __future__ import annotations

import asyncio
import ipaddress
import plistlib
import ssl
import stat
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from pydantic import ValidationError

from appliance.api.https import start_sites
from appliance.api.pairing_routes import PAIRING_KEY
from appliance.api.webapp_routes import CENTRAL_CA_PAGE, make_ca_site
from appliance.app import build_app
from appliance.config import NodeConfig, build_config
from appliance.security.config import TlsConfig
from appliance.security.tls import (
    TlsError,
    TlsPaths,
    client_ssl_context,
    ensure_certificates,
    import_ca,
    load_ca,
    server_ssl_context,
)
from tests.fakes.ports import free_port

LAN = ipaddress.ip_address("192.168.7.23")
Server = Callable[..., Awaitable[TestServer]]


def make(data_dir: Path, config: TlsConfig | None = None, **kwargs: object) -> TlsPaths:
    """Run ensure_certificates for host "kitchen" with one fixed LAN address."""
    cfg = config or TlsConfig(enabled=True, detect_addresses=False)
    kwargs.setdefault("hostname", "kitchen")
    kwargs.setdefault("addresses", [LAN])
    return ensure_certificates(cfg, data_dir, **kwargs)  # type: ignore[arg-type]


def leaf(paths: TlsPaths) -> x509.Certificate:
    """The server certificate (first in the chain file)."""
    return x509.load_pem_x509_certificates(paths.server_cert.read_bytes())[0]


def ca(paths: TlsPaths) -> x509.Certificate:
    """The CA certificate."""
    return x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())


def test_server_certificate_meets_ipados_rules(tmp_path: Path) -> None:
    """SAN with .local, hostname and addresses; serverAuth; ≤ 825 days; P-256; SHA-256."""
    cert = leaf(make(tmp_path))
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"kitchen.local", "kitchen", "localhost"} <= set(san.get_values_for_type(x509.DNSName))
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
        LAN,
    }
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= timedelta(days=825)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_ca_is_a_signing_ca_and_signed_the_server_certificate(tmp_path: Path) -> None:
    """The CA has CA:TRUE (critical) and keyCertSign; the leaf verifies against it."""
    paths = make(tmp_path)
    authority = ca(paths)
    constraints = authority.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = authority.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    leaf(paths).verify_directly_issued_by(authority)
    chain = x509.load_pem_x509_certificates(paths.server_cert.read_bytes())
    assert [c.subject for c in chain] == [leaf(paths).subject, authority.subject]


def test_keys_are_private_files(tmp_path: Path) -> None:
    """Keys are 0600 and the tls folder 0700."""
    paths = make(tmp_path)
    for key in (paths.ca_key, paths.server_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.ca_cert.parent.stat().st_mode) == 0o700


def test_second_start_keeps_the_files(tmp_path: Path) -> None:
    """ensure_certificates is idempotent while everything is valid."""
    first = make(tmp_path)
    before = {p: p.read_bytes() for p in (first.ca_cert, first.ca_key, first.server_cert)}
    make(tmp_path)
    assert {p: p.read_bytes() for p in before} == before


def test_server_certificate_renewed_before_expiry_with_the_same_ca(tmp_path: Path) -> None:
    """Near the end of its validity the leaf is re-issued; the CA (trusted by iPads) stays."""
    paths = make(tmp_path)
    ca_before, leaf_before = paths.ca_cert.read_bytes(), leaf(paths)
    later = datetime.now(UTC) + timedelta(days=810)
    make(tmp_path, now=later)
    assert paths.ca_cert.read_bytes() == ca_before
    assert leaf(paths).serial_number != leaf_before.serial_number
    assert leaf(paths).not_valid_after_utc > later + timedelta(days=800)


def test_server_certificate_renewed_when_the_address_changes(tmp_path: Path) -> None:
    """A new DHCP lease gives a certificate covering the new address."""
    paths = make(tmp_path)
    new = ipaddress.ip_address("10.0.0.9")
    make(tmp_path, addresses=[new])
    san = leaf(paths).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert new in san.get_values_for_type(x509.IPAddress)


def test_nodes_of_one_household_share_a_ca(tmp_path: Path) -> None:
    """Node B imports node A's CA (copied, key 0600) or points its config at it."""
    a = make(tmp_path / "a")
    b = import_ca(a.ca_cert, a.ca_key, tmp_path / "b")
    make(tmp_path / "b", hostname="pantry")
    assert stat.S_IMODE(b.ca_key.stat().st_mode) == 0o600
    leaf(b).verify_directly_issued_by(ca(a))

    shared = TlsConfig(enabled=True, detect_addresses=False, ca_cert=a.ca_cert, ca_key=a.ca_key)
    c = make(tmp_path / "c", config=shared, hostname="cellar")
    assert c.ca_cert == a.ca_cert
    leaf(c).verify_directly_issued_by(ca(a))
    assert not (tmp_path / "c" / "tls" / "ca.key").exists()


def test_a_shared_ca_must_exist(tmp_path: Path) -> None:
    """A configured shared CA that is missing is an error, not a silent new CA."""
    config = TlsConfig(ca_cert=tmp_path / "no.crt", ca_key=tmp_path / "no.key")
    with pytest.raises(TlsError, match="missing"):
        make(tmp_path, config=config)


def test_load_ca_rejects_a_leaf_and_a_foreign_key(tmp_path: Path) -> None:
    """Only a real CA with its own key can be imported."""
    a, b = make(tmp_path / "a"), make(tmp_path / "b")
    with pytest.raises(TlsError, match="not a CA"):
        load_ca(a.server_cert, a.server_key)
    with pytest.raises(TlsError, match="does not belong"):
        load_ca(a.ca_cert, b.ca_key)


def test_config_limits() -> None:
    """More than 825 days, half a shared CA or a bad DNS name are rejected."""
    with pytest.raises(ValidationError):
        TlsConfig(server_cert_days=826)
    with pytest.raises(ValidationError):
        TlsConfig(ca_cert=Path("ca.crt"))
    with pytest.raises(ValidationError):
        TlsConfig(hostnames=["not a name"])


async def test_https_handshake_trusts_only_the_household_ca(
    tmp_path: Path, aiohttp_server: Server
) -> None:
    """A client trusting the CA connects by IP and by <host>.local; a default client refuses."""
    paths = make(tmp_path)
    app = web.Application()

    async def hello(_request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app.router.add_get("/", hello)
    server = await aiohttp_server(app, ssl=server_ssl_context(paths))
    client_ctx = client_ssl_context(paths)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"https://127.0.0.1:{server.port}/", ssl=client_ctx) as resp:
            assert await resp.text() == "hello"
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(f"https://127.0.0.1:{server.port}/", ssl=ssl.create_default_context())
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", server.port, ssl=client_ctx, server_hostname="kitchen.local"
    )
    writer.close()
    await writer.wait_closed()
    del reader


async def test_plain_http_site_offers_the_ca_and_redirects(
    tmp_path: Path, aiohttp_server: Server
) -> None:
    """/ shows the steps and fingerprint, /ca.crt is the DER CA, the profile embeds it."""
    paths = make(tmp_path)
    server = await aiohttp_server(make_ca_site(paths, https_port=8443))
    authority = ca(paths)
    async with aiohttp.ClientSession(base_url=server.make_url("/")) as session:
        async with session.get("/ca.crt") as resp:
            assert resp.content_type == "application/x-x509-ca-cert"
            assert x509.load_der_x509_certificate(await resp.read()) == authority
        async with session.get("/kitchen-ca.mobileconfig") as resp:
            assert resp.content_type == "application/x-apple-aspen-config"
            profile = plistlib.loads(await resp.read())
        payload = profile["PayloadContent"][0]
        assert payload["PayloadType"] == "com.apple.security.root"
        assert x509.load_der_x509_certificate(payload["PayloadContent"]) == authority
        async with session.get("/") as resp:
            page = await resp.text()
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["Server"] == "kitchen-node"  # no versions of Python, aiohttp
        assert authority.fingerprint(hashes.SHA256()).hex(":").upper() in page
        assert "https://127.0.0.1:8443/" in page
        async with session.get("/sw.js", allow_redirects=False) as resp:
            assert resp.status == 308
        async with session.get("/api/inventory?x=1", allow_redirects=False) as resp:
            assert resp.headers["Location"] == "https://127.0.0.1:8443/api/inventory?x=1"


# --- start_sites: how the node listens ---------------------------------------------------------


async def _node_runner(config: NodeConfig) -> web.AppRunner:
    runner = web.AppRunner(await build_app(config), handle_signals=False, access_log=None)
    await runner.setup()
    return runner


def _node_config(
    data_dir: Path, *, tls: bool, http_port: int, https_port: int = 8443
) -> NodeConfig:
    return build_config(
        {
            "http": {"host": "127.0.0.1", "port": http_port},
            "storage": {"data_dir": str(data_dir)},
            "tls": {"enabled": tls, "port": https_port, "detect_addresses": False},
        }
    )


async def test_start_sites_serves_https_and_the_plain_http_ca_page(tmp_path: Path) -> None:
    """A real node over TLS: the household CA verifies it, plain HTTP offers the CA."""
    http_port, https_port = free_port(), free_port()
    config = _node_config(tmp_path, tls=True, http_port=http_port, https_port=https_port)
    runner = await _node_runner(config)
    listening = await start_sites(runner, config)
    try:
        assert listening.urls == [
            f"https://127.0.0.1:{https_port}",
            f"http://127.0.0.1:{http_port}",
        ]
        paths = TlsPaths.for_config(config.tls, tmp_path)
        trusted = ssl.create_default_context(cafile=str(paths.ca_cert))
        # A raw TLS handshake by name and by address, verified against the household CA only.
        for name in ("localhost", "127.0.0.1"):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", https_port, ssl=trusted, server_hostname=name
            )
            peer = writer.get_extra_info("ssl_object")
            assert peer.version() in ("TLSv1.2", "TLSv1.3")
            writer.close()
            await writer.wait_closed()
            del reader
        async with aiohttp.ClientSession() as session:
            base = f"https://127.0.0.1:{https_port}"
            async with session.get(f"{base}/api/health", ssl=trusted) as resp:
                assert (await resp.json())["status"] == "ok"
            async with session.get(f"{base}/", ssl=trusted) as resp:
                assert resp.content_type == "text/html"
            async with session.get(f"{base}/ca.crt", ssl=trusted) as resp:
                assert x509.load_der_x509_certificate(await resp.read()) == ca(paths)
            # Pairing over HTTPS sets a Secure cookie.
            runner.app[PAIRING_KEY].start()
            code = runner.app[PAIRING_KEY].current
            assert code is not None
            async with session.post(
                f"{base}/api/pairing/complete",
                json={"code": code.code, "name": "iPad"},
                ssl=trusted,
            ) as resp:
                assert resp.status == 200
                assert "Secure" in resp.headers["Set-Cookie"]
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.get(f"{base}/", ssl=ssl.create_default_context())
            plain = f"http://127.0.0.1:{http_port}"
            async with session.get(f"{plain}/") as resp:
                assert "Trust the kitchen node" in await resp.text()
                assert f"https://127.0.0.1:{https_port}/" in await resp.text()
            async with session.get(f"{plain}/api/health", allow_redirects=False) as resp:
                assert resp.status == 308
                assert resp.headers["Location"] == f"https://127.0.0.1:{https_port}/api/health"
    finally:
        await listening.close()
        await runner.cleanup()


async def test_start_sites_without_tls_serves_plain_http(tmp_path: Path) -> None:
    """TLS off (a laptop): the app on http.port, no certificates made."""
    port = free_port()
    config = _node_config(tmp_path, tls=False, http_port=port)
    runner = await _node_runner(config)
    listening = await start_sites(runner, config)
    try:
        assert listening.urls == [f"http://127.0.0.1:{port}"]
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/api/health") as resp:
                assert resp.status == 200
            async with session.get(f"http://127.0.0.1:{port}/ca.crt") as resp:
                assert resp.status == 404
        assert not (tmp_path / "tls").exists()
    finally:
        await listening.close()
        await runner.cleanup()


async def test_start_sites_fails_fast_on_a_busy_port(tmp_path: Path) -> None:
    """A port in use stops the node with a message naming it; nothing is left listening."""
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        http_port = free_port()
        config = _node_config(tmp_path, tls=True, http_port=http_port, https_port=port)
        runner = await _node_runner(config)
        try:
            with pytest.raises(SystemExit, match=f"cannot listen on 127.0.0.1:{port}"):
                await start_sites(runner, config)
        finally:
            await runner.cleanup()


async def test_centrals_ca_page_leads_to_the_dashboard(
    tmp_path: Path, aiohttp_server: Server
) -> None:
    """Central serves the same steps under its own name: the dashboard, a login, no node."""
    paths = make(tmp_path)
    server = await aiohttp_server(make_ca_site(paths, 8443, CENTRAL_CA_PAGE))
    async with (
        aiohttp.ClientSession(base_url=server.make_url("/")) as session,
        session.get("/") as resp,
    ):
        page = await resp.text()
        assert resp.headers["Server"] == "kitchen-central"
    assert "Trust the kitchen dashboard" in page and "log in" in page
    assert "node" not in page.lower()
