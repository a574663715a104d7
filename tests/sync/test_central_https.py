"""Central over HTTPS with the household CA a node made (real broker, PostgreSQL, TLS)."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiohttp
from cryptography import x509

from appliance.security.config import TlsConfig
from appliance.security.tls import TlsPaths, ensure_certificates
from central.app import Central
from tests.central.auth_helpers import PASSWORD
from tests.fakes.broker import Broker
from tests.fakes.harness import central_config
from tests.fakes.ports import free_port


async def test_central_serves_https_from_the_nodes_household_ca(
    tmp_path: Path, dsn: str, broker: Broker
) -> None:
    node_tls = ensure_certificates(TlsConfig(enabled=True, detect_addresses=False), tmp_path / "n")
    http_port, https_port = free_port(), free_port()
    config = central_config(dsn, broker)
    config = config.model_copy(
        update={
            "central": config.central.model_copy(update={"data_dir": tmp_path / "central"}),
            "http": config.http.model_copy(update={"port": http_port}),
            "tls": TlsConfig(
                enabled=True,
                port=https_port,
                detect_addresses=False,
                hostnames=["central.home.arpa"],
                ca_cert=node_tls.ca_cert,
                ca_key=node_tls.ca_key,
            ),
        }
    )
    central = Central(config)
    await central.start()
    try:
        assert central.port == https_port
        assert central.urls == [f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}"]
        own = TlsPaths.for_config(config.tls, tmp_path / "central")
        leaf = x509.load_pem_x509_certificate(own.server_cert.read_bytes())
        ca = x509.load_pem_x509_certificate(node_tls.ca_cert.read_bytes())
        assert leaf.issuer == ca.subject  # the node's household CA, not a second one
        trusted = ssl.create_default_context(cafile=str(node_tls.ca_cert))
        base = f"https://127.0.0.1:{https_port}"
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.post(
                f"{base}/api/auth/setup", json={"name": "Anna", "password": PASSWORD}, ssl=trusted
            ) as r:
                assert r.status == 201
                set_cookie = r.headers["Set-Cookie"]
                assert "kc_session=" in set_cookie and "Secure" in set_cookie
                assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
            async with http.get(f"{base}/api/auth/me", ssl=trusted) as r:
                assert r.status == 200 and (await r.json())["user"] == {"name": "Anna"}
            plain = f"http://127.0.0.1:{http_port}"
            async with http.get(f"{plain}/api/nodes", allow_redirects=False) as r:
                assert r.status == 308
                assert r.headers["Location"] == f"{base}/api/nodes"
            async with http.get(f"{plain}/ca.crt") as r:
                assert x509.load_der_x509_certificate(await r.read()) == ca
    finally:
        await central.close()
