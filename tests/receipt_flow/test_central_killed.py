"""kill -9 of central while its real reader reads a photo: the restarted central reads it."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from tests.central.auth_helpers import dsn_headers
from tests.fakes.broker import Broker
from tests.fakes.harness import CentralProcess, central_config, until, write_central_config
from tests.fakes.ports import free_port
from tests.receipt_flow.flow import QUICK
from tests.receipt_flow.helpers import row
from tests.receipt_flow.test_node_capture import form
from tests.receipts.synth import REWE_LAYOUT, encode, photo, render


async def test_a_photo_being_read_when_central_is_killed_is_read_after_the_restart(
    tmp_path: Path, dsn: str, broker: Broker
) -> None:
    port = free_port()
    config = central_config(dsn, broker, receipts={**QUICK, "lease_seconds": 600})
    config = config.model_copy(update={"http": config.http.model_copy(update={"port": port})})
    central = CentralProcess(
        write_central_config(tmp_path / "central.toml", config), tmp_path / "central.log"
    )
    base = f"http://127.0.0.1:{port}"
    picture = encode(photo(render(REWE_LAYOUT * 3), angle=3.0))
    async with aiohttp.ClientSession() as http:

        async def healthy() -> bool:
            try:
                async with http.get(f"{base}/api/health") as r:
                    body = await r.json()
                    return bool(body["receipts"]["ocr"] == "ok")
            except (aiohttp.ClientError, KeyError):
                return False

        try:
            central.start()
            await until(healthy, 60, "central with its reader")
            auth = await dsn_headers(dsn)
            async with http.post(
                f"{base}/api/receipts",
                data=form(("bon.jpg", picture, "image/jpeg")),
                headers=auth,
            ) as r:
                assert r.status == 202
                receipt_id = (await r.json())["id"]

            async def reading() -> bool:
                job = await row(dsn, "SELECT state FROM receipt_jobs")
                return job is not None and job["state"] == "running"

            await until(reading, 30, "the reading to start")
            central.kill()
            job = await row(dsn, "SELECT state, attempts FROM receipt_jobs")
            assert (job["state"], job["attempts"]) == ("running", 1)

            central.start()  # same instance: it takes its job back without waiting the lease

            async def read() -> bool:
                try:
                    async with http.get(f"{base}/api/receipts/{receipt_id}", headers=auth) as r:
                        return r.status == 200 and (await r.json())["status"] == "completed"
                except aiohttp.ClientError:
                    return False

            await until(read, 90, "the restarted central to read the photo")
        finally:
            central.stop()
    job = await row(dsn, "SELECT state, attempts FROM receipt_jobs")
    assert (job["state"], job["attempts"]) == ("done", 2)
    assert "took back 1 receipt job" in (tmp_path / "central.log").read_text()
