"""A TCP proxy that duplicates and reorders every MQTT PUBLISH from the broker to a client.

It parses the MQTT fixed header (packet type, variable-length remaining length) of the broker's
byte stream. Each PUBLISH is held back until the next one arrives (or ``hold`` seconds pass),
then both are written twice in swapped order: a client sees every downlink message twice and
out of order. Other packets (CONNACK, SUBACK, PUBACK, PINGRESP) pass unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.fakes.tcp_proxy import TcpProxy

_PUBLISH = 3


async def read_packet(reader: asyncio.StreamReader) -> bytes:
    """One whole MQTT control packet."""
    first = await reader.readexactly(1)
    length_bytes = b""
    multiplier, length = 1, 0
    while True:
        byte = await reader.readexactly(1)
        length_bytes += byte
        length += (byte[0] & 0x7F) * multiplier
        if not byte[0] & 0x80:
            break
        multiplier *= 128
    return first + length_bytes + await reader.readexactly(length)


class ChaosProxy(TcpProxy):
    """Duplicates and reorders the broker's PUBLISH packets to the client."""

    def __init__(self, target_host: str, target_port: int, hold: float = 0.05) -> None:
        super().__init__(target_host, target_port)
        self.hold = hold
        self.publishes = 0

    async def _downlink(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held: list[bytes] = []
        lock = asyncio.Lock()
        flusher: asyncio.Task[None] | None = None

        async def flush_later() -> None:
            await asyncio.sleep(self.hold)  # ok: holding packets back is the fault
            async with lock:
                for packet in held:
                    writer.write(packet + packet)
                held.clear()
                await writer.drain()

        try:
            while True:
                packet = await read_packet(reader)
                async with lock:
                    if packet[0] >> 4 != _PUBLISH:
                        writer.write(packet)
                    elif not held:
                        self.publishes += 1
                        held.append(packet)
                        flusher = asyncio.create_task(flush_later())
                        continue
                    else:
                        self.publishes += 1
                        if flusher is not None:
                            flusher.cancel()
                        # The newer message first, then the older one, each twice.
                        writer.write(packet + packet + held[0] + held[0])
                        held.clear()
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return
        finally:
            if flusher is not None:
                flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher
