"""Dropping biip's company-prefix table keeps every scan result the node uses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from appliance.core.barcode import parse_scan
from appliance.memory import trim_library_tables


def test_parse_scan_is_unchanged_after_trimming_biip() -> None:
    raw = "]d2" + "0104006381333931" + "17270315" + "10LOT42" + "\x1d" + "3103000500"
    before = parse_scan(raw)
    trim_library_tables()
    after = parse_scan(raw)
    assert after == before
    assert after.gtin == "4006381333931"
    assert after.best_before == date(2027, 3, 15)
    assert after.net_weight == Decimal("0.500")
    assert parse_scan("036000291452").gtin == "0036000291452"
    assert trim_library_tables() is True  # idempotent: an empty table is still a table


# A node with TLS off must not load what only TLS, receipts or central need: each of these
# costs megabytes of the idle budget on a Pi (cryptography's Rust bindings alone about 6 MiB).
_PROBE = """
import asyncio, sys, tempfile
from appliance.app import build_app
from appliance.config import build_config


async def main():
    data = {"storage": {"data_dir": tempfile.mkdtemp()}, "http": {"host": "127.0.0.1"}}
    config = build_config(data)
    app = await build_app(config)
    from aiohttp import web
    runner = web.AppRunner(app)
    await runner.setup()
    await runner.cleanup()
    heavy = {"cryptography", "PIL", "pypdfium2", "pystrich", "rapidocr", "asyncpg", "httpx"}
    print(",".join(sorted(heavy & {name.split(".")[0] for name in sys.modules})))


asyncio.run(main())
"""


def test_a_plain_node_loads_no_heavy_library() -> None:
    """Regression: the Host check imported the TLS module, and with it cryptography."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "", done.stdout


# Garbage the size of start-up's (many small objects and one large string, freed), then the
# release: glibc keeps those pages unless asked (measured: 10 MiB of the node's idle RSS).
_RELEASE_PROBE = """
import json
from appliance.memory import release_free_memory


def rss_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))


# Blocks above pymalloc's 512 bytes come from malloc; every 50th stays alive, so the freed
# ones are holes in the heap that glibc's automatic trimming (top of the heap only) keeps.
garbage, keep = [], []
for i in range(30_000):
    (keep if i % 50 == 0 else garbage).append(bytes(1000 + i % 7))
del garbage
before = rss_kib()
released = release_free_memory()
print(released, before - rss_kib())
"""


def test_free_memory_goes_back_to_the_system() -> None:
    """Regression: freed start-up garbage stayed resident (idle RSS 65 MiB of a 60 budget)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _RELEASE_PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    released, freed_kib = done.stdout.split()
    assert released == "True"  # glibc, as on Raspberry Pi OS
    assert int(freed_kib) > 8 * 1024, f"only {freed_kib} KiB went back"


# A large block freed, then another one: glibc, left alone, raises its mmap threshold at the
# first free and takes the second from the heap, where it stays resident after its free.
_LARGE_PROBE = """
import sys
from appliance.memory import tune_allocator


def rss_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))


if sys.argv[1] == "tuned":
    assert tune_allocator()
first = b"x" * (24 << 20)
del first
before = rss_kib()
second = b"y" * (12 << 20)
del second
print(rss_kib() - before)
"""


def _retained_kib(mode: str) -> int:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _LARGE_PROBE, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(done.stdout)


def test_large_blocks_go_back_to_the_system_when_freed() -> None:
    """Regression: each big list response left its blocks resident (+13 MiB after reads)."""
    assert _retained_kib("default") > 8 * 1024  # what glibc does on its own
    assert _retained_kib("tuned") < 1024


_PERIODIC_PROBE = """
import asyncio
from appliance.memory import release_periodically


def rss_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))


async def main():
    garbage, keep = [], []
    for i in range(30_000):
        (keep if i % 50 == 0 else garbage).append(bytes(1000 + i % 7))
    del garbage
    before = rss_kib()
    task = asyncio.create_task(release_periodically(0.01))
    for _ in range(500):
        if before - rss_kib() > 8 * 1024:
            break
        await asyncio.sleep(0.01)  # ok: polls the kernel's count of this process's pages
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    print(before - rss_kib(), task.cancelled())


asyncio.run(main())
"""


def test_free_memory_is_released_periodically_until_cancelled() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _PERIODIC_PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    freed_kib, cancelled = done.stdout.split()
    assert int(freed_kib) > 8 * 1024
    assert cancelled == "True"
