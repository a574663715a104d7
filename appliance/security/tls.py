"""The household CA and the node's server certificate, made so that iPadOS trusts them.

Files live in ``<data_dir>/tls/``: ``ca.crt``, ``ca.key`` (unless a shared CA is configured),
``server.crt`` (leaf followed by the CA) and ``server.key``; keys are mode 0600. iPadOS wants a
server certificate with the name in subjectAltName, extendedKeyUsage serverAuth, at most 825 days
of validity and an RSA 2048+ or ECDSA P-256 key; the CA needs basicConstraints CA:TRUE and
keyCertSign. Several nodes share one CA by importing its certificate and key.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import ssl
import uuid
from base64 import b64encode
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from appliance.security.addresses import IPAddress, local_addresses
from appliance.security.config import TlsConfig

LOG = logging.getLogger(__name__)

CA_DAYS = 3650
# Start validity a little in the past: a Pi without RTC may be a few minutes behind the iPad.
BACKDATE = timedelta(hours=1)


class TlsError(Exception):
    """A certificate or key cannot be used (wrong type, not a CA, key does not match...)."""


@dataclass(frozen=True, slots=True)
class TlsPaths:
    """Where the node keeps its certificates and keys."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path

    @classmethod
    def for_config(cls, config: TlsConfig, data_dir: Path) -> TlsPaths:
        """Return the paths for ``data_dir``, with a configured shared CA taking precedence."""
        folder = data_dir / "tls"
        return cls(
            ca_cert=config.ca_cert or folder / "ca.crt",
            ca_key=config.ca_key or folder / "ca.key",
            server_cert=folder / "server.crt",
            server_key=folder / "server.key",
        )


# --- files -----------------------------------------------------------------------------------


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``path`` atomically with ``mode`` (keys are created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_ca(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """Load and check a CA certificate and its private key."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise TlsError(f"cannot read the CA from {cert_path} / {key_path}: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TlsError(f"{key_path}: the CA key must be an ECDSA key")
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        raise TlsError(f"{cert_path} has no basicConstraints: not a CA certificate") from None
    if not constraints.ca:
        raise TlsError(f"{cert_path} is not a CA certificate (basicConstraints CA:FALSE)")
    if cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise TlsError(f"{key_path} does not belong to {cert_path}")
    return cert, key


# --- certificates ------------------------------------------------------------------------------


def create_ca(
    name: str = "Kitchen household CA", now: datetime | None = None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """Create a household CA: ECDSA P-256, CA:TRUE (path length 0), keyCertSign and cRLSign."""
    start = (now or datetime.now(UTC)) - BACKDATE
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kitchen appliance"),
        ]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def create_server_cert(
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    dns_names: list[str],
    addresses: list[IPAddress],
    days: int = 825,
    now: datetime | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """Issue a server certificate for ``dns_names`` and ``addresses`` (serverAuth, ≤ 825 days)."""
    if not 1 <= days <= 825:
        raise ValueError("iPadOS accepts at most 825 days of validity")
    start = (now or datetime.now(UTC)) - BACKDATE
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    names += [x509.IPAddress(a) for a in addresses]
    common_name = dns_names[0] if dns_names else str(addresses[0])
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        # Backdating must not stretch the span past the limit that iPadOS enforces.
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


# --- names and addresses ---------------------------------------------------------------------


def server_names(
    config: TlsConfig, hostname: str | None = None, addresses: list[IPAddress] | None = None
) -> tuple[list[str], list[IPAddress]]:
    """Return the DNS names and IP addresses the server certificate must cover."""
    host = (hostname or socket.gethostname()).split(".")[0].lower()
    dns = [f"{host}.local", host, "localhost", *config.hostnames]
    ips: list[IPAddress] = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    detected = local_addresses() if addresses is None and config.detect_addresses else []
    ips += [*(addresses or []), *detected, *config.addresses]
    return list(dict.fromkeys(dns)), list(dict.fromkeys(ips))


def _needs_new_server_cert(
    paths: TlsPaths,
    ca_cert: x509.Certificate,
    dns: list[str],
    ips: list[IPAddress],
    config: TlsConfig,
    now: datetime,
) -> str | None:
    """Return why the server certificate must be (re)issued, or None if it is still good."""
    if not (paths.server_cert.is_file() and paths.server_key.is_file()):
        return "missing"
    try:
        cert = x509.load_pem_x509_certificate(paths.server_cert.read_bytes())
        key = serialization.load_pem_private_key(paths.server_key.read_bytes(), password=None)
    except ValueError:
        return "unreadable"
    if cert.issuer != ca_cert.subject:
        return "issued by another CA"
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (InvalidSignature, ValueError, TypeError):
        return "not signed by the current CA"
    if cert.public_key() != key.public_key():
        return "key does not match"
    if cert.not_valid_after_utc - now < timedelta(days=config.renew_before_days):
        return "expires soon"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    if not set(dns) <= set(san.get_values_for_type(x509.DNSName)):
        return "names changed"
    if not set(ips) <= set(san.get_values_for_type(x509.IPAddress)):
        return "addresses changed"
    return None


def ensure_certificates(
    config: TlsConfig,
    data_dir: Path,
    *,
    hostname: str | None = None,
    addresses: list[IPAddress] | None = None,
    now: datetime | None = None,
) -> TlsPaths:
    """Create what is missing: the household CA (unless shared) and a valid server certificate.

    Idempotent: existing files are kept while they are valid; the server certificate is
    re-issued when it expires within ``renew_before_days`` or no longer covers the names.
    """
    moment = now or datetime.now(UTC)
    paths = TlsPaths.for_config(config, data_dir)
    if paths.ca_cert.is_file() and paths.ca_key.is_file():
        ca_cert, ca_key = load_ca(paths.ca_cert, paths.ca_key)
    elif config.ca_cert is not None:
        raise TlsError(f"the shared CA {config.ca_cert} / {config.ca_key} is missing")
    else:
        ca_cert, ca_key = create_ca(config.ca_name, moment)
        _write(paths.ca_key, _key_pem(ca_key), 0o600)
        _write(paths.ca_cert, _cert_pem(ca_cert), 0o644)
        LOG.info("created household CA %s (%s)", paths.ca_cert, fingerprint(ca_cert))
    dns, ips = server_names(config, hostname, addresses)
    reason = _needs_new_server_cert(paths, ca_cert, dns, ips, config, moment)
    if reason is not None:
        cert, key = create_server_cert(ca_cert, ca_key, dns, ips, config.server_cert_days, moment)
        _write(paths.server_key, _key_pem(key), 0o600)
        _write(paths.server_cert, _cert_pem(cert) + _cert_pem(ca_cert), 0o644)
        LOG.info(
            "issued server certificate (%s) for %s valid until %s",
            reason,
            ", ".join([*dns, *map(str, ips)]),
            cert.not_valid_after_utc.date(),
        )
    return paths


def import_ca(cert_path: Path, key_path: Path, data_dir: Path) -> TlsPaths:
    """Copy a household CA shared with another node into ``data_dir/tls`` (key mode 0600).

    The server certificate is removed so the next ``ensure_certificates`` re-issues it.
    """
    cert, key = load_ca(cert_path, key_path)
    paths = TlsPaths.for_config(TlsConfig(), data_dir)
    _write(paths.ca_key, _key_pem(key), 0o600)
    _write(paths.ca_cert, _cert_pem(cert), 0o644)
    for stale in (paths.server_cert, paths.server_key):
        stale.unlink(missing_ok=True)
    LOG.info("imported household CA %s (%s)", cert_path, fingerprint(cert))
    return paths


def fingerprint(cert: x509.Certificate) -> str:
    """The SHA-256 fingerprint as colon-separated hex (what iPadOS shows in the profile)."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def server_ssl_context(paths: TlsPaths) -> ssl.SSLContext:
    """Return the SSL context for the HTTPS site (TLS 1.2+, leaf + CA chain)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(paths.server_cert, paths.server_key)
    return context


def client_ssl_context(paths: TlsPaths) -> ssl.SSLContext:
    """Return a client context that trusts only the household CA (for tests and tools)."""
    return ssl.create_default_context(cafile=str(paths.ca_cert))


# --- the iPad profile --------------------------------------------------------------------------


def ca_der(paths: TlsPaths) -> bytes:
    """The CA certificate in DER, as served at /ca.crt."""
    cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    return cert.public_bytes(serialization.Encoding.DER)


def mobileconfig(paths: TlsPaths, display_name: str = "Kitchen") -> bytes:
    """An (unsigned) configuration profile that installs the household CA on iPadOS."""
    cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    der = cert.public_bytes(serialization.Encoding.DER)
    digest = cert.fingerprint(hashes.SHA256()).hex()
    profile_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"kitchen-ca-profile:{digest}")
    payload_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"kitchen-ca-cert:{digest}")
    common_name = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    data = b64encode(der).decode("ascii")
    name = _xml(display_name)
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>PayloadContent</key>
  <array>
    <dict>
      <key>PayloadCertificateFileName</key><string>kitchen-ca.crt</string>
      <key>PayloadContent</key><data>{data}</data>
      <key>PayloadDescription</key><string>Trusts the household kitchen nodes</string>
      <key>PayloadDisplayName</key><string>{_xml(str(common_name))}</string>
      <key>PayloadIdentifier</key><string>local.kitchen.ca.{payload_uuid}</string>
      <key>PayloadType</key><string>com.apple.security.root</string>
      <key>PayloadUUID</key><string>{str(payload_uuid).upper()}</string>
      <key>PayloadVersion</key><integer>1</integer>
    </dict>
  </array>
  <key>PayloadDescription</key><string>Installs the CA of the kitchen appliance</string>
  <key>PayloadDisplayName</key><string>{name} CA</string>
  <key>PayloadIdentifier</key><string>local.kitchen.profile.{profile_uuid}</string>
  <key>PayloadRemovalDisallowed</key><false/>
  <key>PayloadType</key><string>Configuration</string>
  <key>PayloadUUID</key><string>{str(profile_uuid).upper()}</string>
  <key>PayloadVersion</key><integer>1</integer>
</dict>
</plist>
"""
    return text.encode("utf-8")


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
