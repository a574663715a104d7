"""Node broker credentials: password file, ACL file upkeep, and a real Mosquitto enforcing them.

The broker tests render ``firmware/broker`` templates into ``tmp_path``, start their own
``/usr/sbin/mosquitto`` on a free port and talk MQTT v5 to it with paho-mqtt. "Not delivered"
is proven with a barrier: the same publisher sends an allowed message right after the denied
one, and MQTT keeps one publisher's QoS 1 messages in order, so once the allowed one has
arrived the denied one would have arrived before it.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import pwd
import queue
import re
import ssl
import stat
import subprocess
import threading
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from appliance.sync.config import SyncConfig
from central.credentials import (
    ACL_FILE_MODE,
    PASSWORD_FILE_MODE,
    CredentialsError,
    NodeCredentials,
    TlsListener,
    add_central,
    add_node,
    hash_password,
    remove_node,
    render_acl_node,
    render_broker_config,
    update_acl,
    verify_password,
)
from tests.fakes.ports import free_port

MOSQUITTO = "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"
HOUSEHOLD = "home"
TIMEOUT = 10.0
NOT_AUTHORIZED = 135


# --- files --------------------------------------------------------------------------------------


class Files(TypedDict):
    password_file: Path
    acl_file: Path


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(password_file=tmp_path / "passwd", acl_file=tmp_path / "acl")


def _entries(password_file: Path) -> dict[str, str]:
    lines = password_file.read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if line)


def test_hash_is_what_mosquitto_passwd_writes(tmp_path: Path) -> None:
    password_file = tmp_path / "reference"
    subprocess.run(
        [MOSQUITTO_PASSWD, "-c", "-b", str(password_file), "alice", "s3cret pass"],
        check=True,
        capture_output=True,
    )
    reference = _entries(password_file)["alice"]
    salt = base64.b64decode(reference.split("$")[3])

    assert hash_password("s3cret pass", salt=salt) == reference
    assert verify_password("s3cret pass", reference)
    assert not verify_password("wrong", reference)


def test_hash_format() -> None:
    encoded = hash_password("x")
    assert re.fullmatch(r"\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==", encoded)
    assert hash_password("x") != encoded  # a fresh salt each time
    assert not verify_password("x", "$7$101$not-base64!$abc")
    assert not verify_password("x", "plain")


def test_add_node_writes_password_and_acl_with_modes(files: Files) -> None:
    creds = add_node("node-a", household=HOUSEHOLD, **files)

    entries = _entries(files["password_file"])
    assert set(entries) == {"node-a"}
    assert verify_password(creds.password, entries["node-a"])
    assert len(creds.password) >= 32
    assert stat.S_IMODE(files["password_file"].stat().st_mode) == PASSWORD_FILE_MODE == 0o600
    assert stat.S_IMODE(files["acl_file"].stat().st_mode) == ACL_FILE_MODE == 0o640
    acl = files["acl_file"].read_text()
    assert "pattern write kitchen/v1/home/node/%u/events" in acl
    assert "user node-a\ntopic read kitchen/v1/home/stream" in acl
    assert "user central\n" in acl
    assert "$share" in acl and "${" not in acl


def test_adding_again_rotates_the_password_and_leaves_the_acl_alone(
    files: Files,
) -> None:
    first = add_node("node-a", household=HOUSEHOLD, **files)
    add_node("node-b", household=HOUSEHOLD, **files)
    acl_before = files["acl_file"].read_text()

    second = add_node("node-a", household=HOUSEHOLD, **files)

    entries = _entries(files["password_file"])
    assert list(entries) == ["node-b", "node-a"]
    assert verify_password(second.password, entries["node-a"])
    assert not verify_password(first.password, entries["node-a"])
    assert files["acl_file"].read_text() == acl_before
    assert acl_before.count("# BEGIN kitchen household=home") == 1
    assert acl_before.count("# BEGIN kitchen node=node-a household=home") == 1
    assert not update_acl(files["acl_file"], HOUSEHOLD, add_nodes=["node-a", "node-b"])


def test_foreign_entries_and_text_outside_the_blocks_are_kept(files: Files) -> None:
    files["password_file"].write_text("admin:$7$101$abc$def\n")
    files["acl_file"].write_text("# local rules\nuser admin\ntopic readwrite #\n")

    add_node("node-a", household=HOUSEHOLD, **files)
    add_node("node-a", household=HOUSEHOLD, **files)

    assert list(_entries(files["password_file"])) == ["admin", "node-a"]
    assert (
        files["acl_file"].read_text().startswith("# local rules\nuser admin\ntopic readwrite #\n\n")
    )


def test_remove_node(files: Files) -> None:
    add_node("node-a", household=HOUSEHOLD, **files)
    add_node("node-b", household=HOUSEHOLD, **files)

    acl_before = files["acl_file"].read_text()
    assert remove_node("node-a", household=HOUSEHOLD, **files)
    assert not remove_node("node-a", household=HOUSEHOLD, **files)
    add_node("node-a", household=HOUSEHOLD, **files)
    assert remove_node("node-a", household=HOUSEHOLD, **files)

    assert list(_entries(files["password_file"])) == ["node-b"]
    acl = files["acl_file"].read_text()
    assert "user node-a" not in acl
    assert "user node-b" in acl
    assert "\n\n\n" not in acl
    assert acl == acl_before.replace(
        "".join(f"{line}\n" for line in render_acl_node("node-a", HOUSEHOLD)) + "\n", ""
    )


@pytest.mark.parametrize("name", ["", "Node-A", "node/a", "node+a", "#", "-node", "a" * 64])
def test_invalid_names_are_rejected(files: Files, name: str) -> None:
    with pytest.raises(CredentialsError, match="invalid name"):
        add_node(name, household=HOUSEHOLD, **files)
    assert not files["password_file"].exists()


def test_central_user_is_not_a_node_id(files: Files) -> None:
    with pytest.raises(CredentialsError, match="central's broker user"):
        add_node("central", household=HOUSEHOLD, **files)


def test_owner_is_applied_and_kept(files: Files) -> None:
    me = pwd.getpwuid(os.getuid()).pw_name
    add_node("node-a", household=HOUSEHOLD, owner=me, **files)
    add_node("node-b", household=HOUSEHOLD, **files)

    for path in (files["password_file"], files["acl_file"]):
        assert path.stat().st_uid == os.getuid()


def test_sync_toml_is_a_valid_node_sync_section(files: Files) -> None:
    creds = add_node("node-a", household=HOUSEHOLD, host="192.168.1.10", port=8883, **files)

    parsed = tomllib.loads(creds.sync_toml())
    config = SyncConfig(**parsed["sync"])

    assert config.enabled
    assert (config.host, config.port, config.username) == ("192.168.1.10", 8883, "node-a")
    assert config.password is not None
    assert config.password.get_secret_value() == creds.password
    assert creds.password not in repr(creds)


# --- a real broker ------------------------------------------------------------------------------


@dataclass
class Broker:
    """A mosquitto process owned by the test, with its log lines."""

    process: subprocess.Popen[str]
    port: int
    log: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)

    def read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            if " running" in line:
                self.ready.set()
        self.ready.set()  # the process ended: stop waiting


@pytest.fixture
def start_broker(tmp_path: Path) -> Iterator[Callable[[str], Broker]]:
    """Starts mosquitto on a rendered configuration; stops it (and its log reader) afterwards."""
    running: list[tuple[Broker, threading.Thread]] = []

    def start(config: str) -> Broker:
        config_file = tmp_path / f"mosquitto-{len(running)}.conf"
        config_file.write_text(config + "log_type debug\n")
        process = subprocess.Popen(
            [MOSQUITTO, "-c", str(config_file)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        port = int(re.findall(r"^listener (\d+)", config, re.MULTILINE)[0])
        broker = Broker(process, port)
        reader = threading.Thread(target=broker.read_log, name="mosquitto-log", daemon=True)
        reader.start()
        running.append((broker, reader))
        assert broker.ready.wait(TIMEOUT), "mosquitto did not start"
        assert broker.process.poll() is None, "".join(broker.log)
        return broker

    yield start
    for broker, reader in running:
        broker.process.terminate()
        try:
            broker.process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            broker.process.kill()
            broker.process.wait(TIMEOUT)
        reader.join(TIMEOUT)
        assert not reader.is_alive()
        assert broker.process.stderr is not None
        broker.process.stderr.close()


def _config(tmp_path: Path, port: int, **extra: Any) -> str:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    return render_broker_config(
        password_file=tmp_path / "passwd",
        acl_file=tmp_path / "acl",
        persistence_location=data,
        port=port,
        run_as_user=pwd.getpwuid(os.getuid()).pw_name,
        **extra,
    )


class Peer:
    """A paho MQTT v5 client on its network thread; results are awaited with a condition."""

    def __init__(self, port: int, creds: NodeCredentials | None, client_id: str) -> None:
        self.port = port
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        if creds is not None:
            self.client.username_pw_set(creds.username, creds.password)
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._done = threading.Condition()
        self._connack: ReasonCode | None = None
        self._acks: dict[int, Any] = {}
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda _c, _u, message: self.messages.put(message)
        self.client.on_subscribe = self._on_ack
        self.client.on_publish = self._on_ack

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        with self._done:
            self._connack = reason
            self._done.notify_all()

    def _on_ack(self, _c: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        with self._done:
            self._acks[mid] = reason
            self._done.notify_all()

    def _wait(self, ready: Callable[[], bool], what: str) -> None:
        with self._done:
            assert self._done.wait_for(ready, TIMEOUT), f"no {what} within {TIMEOUT} s"

    def connect(self, host: str = "127.0.0.1") -> ReasonCode:
        self.client.connect(host, self.port, keepalive=30)
        self.client.loop_start()
        self._wait(lambda: self._connack is not None, "CONNACK")
        assert self._connack is not None
        return self._connack

    def subscribe(self, topic: str) -> list[ReasonCode]:
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        self._wait(lambda: mid in self._acks, "SUBACK")
        codes: list[ReasonCode] = self._acks.pop(mid)
        return codes

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> ReasonCode:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        self._wait(lambda: info.mid in self._acks, "PUBACK")
        code: ReasonCode = self._acks.pop(info.mid)
        return code

    def next_message(self) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=TIMEOUT)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class Household:
    """Two nodes and central with their logins, on a running broker."""

    broker: Broker
    node_a: NodeCredentials
    node_b: NodeCredentials
    central: NodeCredentials
    peer: Callable[[NodeCredentials | None, str], Peer]


@pytest.fixture
def household(tmp_path: Path, start_broker: Callable[[str], Broker]) -> Iterator[Household]:
    port = free_port()
    files = Files(password_file=tmp_path / "passwd", acl_file=tmp_path / "acl")
    node_a = add_node("node-a", household=HOUSEHOLD, port=port, **files)
    node_b = add_node("node-b", household=HOUSEHOLD, port=port, **files)
    central = add_central(household=HOUSEHOLD, port=port, **files)
    broker = start_broker(_config(tmp_path, port))
    peers: list[Peer] = []

    def peer(creds: NodeCredentials | None, client_id: str) -> Peer:
        new = Peer(port, creds, client_id)
        peers.append(new)
        assert not new.connect().is_failure
        return new

    yield Household(broker, node_a, node_b, central, peer)
    for each in peers:
        each.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("paho-mqtt-client")]


def _central_events_subscription() -> str:
    return f"$share/central/kitchen/v1/{HOUSEHOLD}/node/+/events"


def test_anonymous_and_wrong_passwords_are_refused(household: Household) -> None:
    anonymous = Peer(household.broker.port, None, "anonymous")
    wrong = Peer(
        household.broker.port,
        NodeCredentials("node-a", "not-the-password", HOUSEHOLD, "127.0.0.1", 0),
        "node-a-impostor",
    )
    try:
        assert anonymous.connect().value == NOT_AUTHORIZED
        assert wrong.connect().is_failure
    finally:
        anonymous.close()
        wrong.close()


def test_node_events_reach_central_through_a_shared_subscription(household: Household) -> None:
    central = household.peer(household.central, "central-1")
    node_a = household.peer(household.node_a, "node-a")
    assert not central.subscribe(_central_events_subscription())[0].is_failure

    assert not node_a.publish(household.node_a.topic("events"), b'{"events": []}').is_failure

    message = central.next_message()
    assert message.topic == "kitchen/v1/home/node/node-a/events"
    assert message.payload == b'{"events": []}'


def test_node_cannot_publish_on_other_nodes_or_central_topics(household: Household) -> None:
    central = household.peer(household.central, "central-1")
    node_a = household.peer(household.node_a, "node-a")
    central.subscribe(_central_events_subscription())
    central.subscribe("kitchen/v1/home/node/+/status")

    forged = [
        household.node_b.topic("events"),
        household.node_b.topic("status"),
        household.node_b.topic("ack"),
        "kitchen/v1/home/stream",
        "kitchen/v1/other-home/node/node-a/events",
    ]
    for topic in forged:
        assert node_a.publish(topic, b"forged").value == NOT_AUTHORIZED, topic
    assert not node_a.publish(household.node_a.topic("events"), b"genuine").is_failure

    first = central.next_message()
    assert (first.topic, first.payload) == (household.node_a.topic("events"), b"genuine")
    assert central.messages.empty()
    assert any("Denied PUBLISH from node-a" in line for line in household.broker.log)


def test_node_cannot_read_another_nodes_ack(household: Household) -> None:
    central = household.peer(household.central, "central-1")
    node_a = household.peer(household.node_a, "node-a")
    node_b = household.peer(household.node_b, "node-b")
    # Mosquitto's ACL file grants every SUBSCRIBE; reading is what it checks, per message.
    # Its own ack matches only the wildcard subscription, so it arrives once.
    node_a.subscribe(household.node_b.topic("ack"))
    node_a.subscribe("kitchen/v1/home/node/+/ack")
    node_b.subscribe(household.node_b.topic("ack"))

    assert not central.publish(household.node_b.topic("ack"), b"ack for b").is_failure
    assert not central.publish(household.node_a.topic("ack"), b"ack for a").is_failure

    assert node_b.next_message().payload == b"ack for b"
    assert node_a.next_message().payload == b"ack for a"
    assert node_a.messages.empty()


def test_central_cannot_forge_node_events(household: Household) -> None:
    central = household.peer(household.central, "central-1")

    assert central.publish(household.node_a.topic("events"), b"forged").value == NOT_AUTHORIZED


def test_nodes_read_the_stream_and_each_others_retained_status(household: Household) -> None:
    central = household.peer(household.central, "central-1")
    node_a = household.peer(household.node_a, "node-a")
    node_b = household.peer(household.node_b, "node-b")
    node_b.subscribe("kitchen/v1/home/stream")

    assert not node_a.publish(household.node_a.topic("status"), b"online", retain=True).is_failure
    node_b.subscribe("kitchen/v1/home/node/+/status")
    status = node_b.next_message()
    assert (status.topic, status.payload, status.retain) == (
        household.node_a.topic("status"),
        b"online",
        True,
    )

    assert not central.publish("kitchen/v1/home/stream", b"event 1").is_failure
    assert node_b.next_message().payload == b"event 1"


def test_pictures_are_written_by_central_only_and_read_retained_by_nodes(
    household: Household,
) -> None:
    central = household.peer(household.central, "central-1")
    node_a = household.peer(household.node_a, "node-a")
    node_b = household.peer(household.node_b, "node-b")
    topic = "kitchen/v1/home/pictures/3f0c2a4e-0000-4000-8000-000000000001"
    assert node_a.publish(topic, b"\xff\xd8\xffforged").value == NOT_AUTHORIZED
    assert not central.publish(topic, b"\xff\xd8\xffjpeg", retain=True).is_failure
    node_b.subscribe("kitchen/v1/home/pictures/+")
    picture = node_b.next_message()
    assert (picture.topic, picture.payload, picture.retain) == (topic, b"\xff\xd8\xffjpeg", True)


# --- the optional TLS listener ------------------------------------------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "broker.crt", directory / "broker.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_tls_listener_accepts_a_node(tmp_path: Path, start_broker: Callable[[str], Broker]) -> None:
    plain_port, tls_port = free_port(), free_port()
    files = Files(password_file=tmp_path / "passwd", acl_file=tmp_path / "acl")
    node = add_node("node-a", household=HOUSEHOLD, host="localhost", port=tls_port, **files)
    add_central(household=HOUSEHOLD, **files)
    cert_file, key_file = _self_signed(tmp_path)
    tls = TlsListener(cert_file, key_file, port=tls_port, bind_address="127.0.0.1")
    config = _config(tmp_path, plain_port, tls=tls)
    assert f"listener {tls_port} 127.0.0.1" in config
    start_broker(config)

    peer = Peer(tls_port, node, "node-a")
    peer.client.tls_set(ca_certs=str(cert_file), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    try:
        assert not peer.connect("localhost").is_failure
        assert not peer.publish(node.topic("events"), b"over tls").is_failure
    finally:
        peer.close()
