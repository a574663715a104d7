"""The receipt worker process: reads jobs from stdin, answers on stdout, one at a time.

Started by ``ReceiptReader`` as ``python -m central.receipts.worker_process``. Frames are a
4-byte big-endian length and a pickle; only the parent, which started this process, writes to
it. Anything else printed to stdout goes to stderr, so it cannot corrupt a frame.
"""

from __future__ import annotations

import logging
import os
import pickle
import struct
import sys
import time
from typing import Any, BinaryIO

from appliance.uploads import UploadLimits
from central.receipts.draft import ReadFailed
from central.receipts.read import Reading

log = logging.getLogger("central.receipts.worker")


def _recv(stream: BinaryIO) -> Any:
    head = stream.read(4)
    if len(head) < 4:
        return None
    (size,) = struct.unpack(">I", head)
    return pickle.loads(stream.read(size))


def _send(stream: BinaryIO, message: Any) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack(">I", len(body)) + body)
    stream.flush()


def _reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM, so each job reports its own peak.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss() -> int:
    """This process's peak resident memory in bytes since the last reset."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def serve(
    inp: BinaryIO, out: BinaryIO, limits: UploadLimits, threads: int, use_ocr: bool = True
) -> None:
    """Answer jobs until stdin closes."""

    def factory() -> Any:
        from central.receipts.ocr import OcrEngine

        return OcrEngine(threads=threads)

    reading = Reading(limits, factory)
    ocr = "ok"
    if not use_ocr:
        ocr = reading.ocr_error = "OCR is switched off on this central; enter the lines by hand"
    try:
        reading.engine()
    except ReadFailed as exc:
        ocr = exc.reason
    _send(out, {"hello": True, "ocr": ocr, "pid": os.getpid()})
    while True:
        job = _recv(inp)
        if job is None:
            return
        _reset_peak()
        started, cpu = time.perf_counter(), time.process_time()
        try:
            draft = reading.read(job["files"])
            answer: dict[str, Any] = {"ok": True, "draft": draft.to_dict()}
        except ReadFailed as exc:
            answer = {"ok": False, "reason": exc.reason}
        except Exception as exc:  # a bug must not take the worker down: fail this job
            log.exception("reading a receipt failed")
            answer = {"ok": False, "reason": f"the receipt could not be read ({exc})"}
        answer["seconds"] = time.perf_counter() - started
        # CPU seconds of all threads: what the job costs, whatever else the machine runs.
        answer["cpu_seconds"] = time.process_time() - cpu
        answer["peak_rss"] = peak_rss()
        _send(out, answer)


def main() -> None:
    """Entry point of the worker process."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints go to stderr, never into a frame
    limits = UploadLimits(
        max_bytes=int(os.environ.get("RECEIPT_MAX_BYTES", UploadLimits.max_bytes)),
        max_pixels=int(os.environ.get("RECEIPT_MAX_PIXELS", UploadLimits.max_pixels)),
        max_pdf_pages=int(os.environ.get("RECEIPT_MAX_PDF_PAGES", UploadLimits.max_pdf_pages)),
    )
    threads = int(os.environ.get("RECEIPT_OCR_THREADS", "2"))
    serve(sys.stdin.buffer, out, limits, threads, os.environ.get("RECEIPT_OCR", "on") != "off")


if __name__ == "__main__":
    main()
