"""Fake hardware you can see: the display's live picture and clickable buttons in a web page.

``/hardware`` is one self-contained page. It long-polls ``/api/hardware/state`` and fetches
``/api/hardware/display.png`` whenever the frame changes. Button clicks drive gpiozero mock
pins, so they take exactly the path a real button press takes.
"""

from __future__ import annotations

import asyncio
import io
import secrets
from typing import Any

from aiohttp import web

from appliance.api.bodies import HardwareScanIn, HardwareStateQuery
from appliance.api.problem import problem
from appliance.api.registry import read_body, read_query
from appliance.hardware.box import ScanBox

BOX_KEY = web.AppKey("hardware_box", ScanBox)
# A long poll returns at the latest after this long, so proxies never see it as hung.
LONG_POLL_SECONDS = 20.0


def setup_hardware_routes(app: web.Application, box: ScanBox) -> None:
    """Add the hardware page and its API to ``app`` (the bearer-token middleware guards /api)."""
    app[BOX_KEY] = box
    app.router.add_get("/hardware", _page)
    app.router.add_get("/api/hardware/state", _state)
    app.router.add_get("/api/hardware/display.png", _display_png)
    app.router.add_post("/api/hardware/buttons/{name}/{how:press|hold}", _button)
    app.router.add_post("/api/hardware/scan", _scan)
    _describe(app)


def _describe(app: web.Application) -> None:
    """List these routes in the node's OpenAPI document too."""
    from appliance.api.registry import RouteSpec
    from appliance.api.system_routes import SPECS

    if SPECS not in app:
        return
    app[SPECS].extend(
        [
            RouteSpec(
                "GET",
                "/api/hardware/state",
                "The scan box's screen and buttons (long poll)",
                "hardware",
                query=HardwareStateQuery,
            ),
            RouteSpec(
                "GET",
                "/api/hardware/display.png",
                "The display's current frame",
                "hardware",
                media_type="image/png",
                responses={404: "This node has no display"},
            ),
            RouteSpec(
                "POST",
                "/api/hardware/scan",
                "Type a scan into the box's scanner",
                "hardware",
                body=HardwareScanIn,
                status=202,
            ),
            RouteSpec(
                "POST",
                "/api/hardware/buttons/{name}/{how}",
                "Press or hold a (mock) button",
                "hardware",
                path_params={"how": {"type": "string", "enum": ["press", "hold"]}},
                responses={404: "No button of that name", 409: "The buttons are not mock ones"},
            ),
        ]
    )


def _state_of(box: ScanBox) -> dict[str, Any]:
    display = box.display
    return {
        "station_id": box.station_id,
        "display": display is not None,
        "version": display.version if display else 0,
        "screen": display.state.screen if display else None,
        "mode": display.state.mode if display else None,
        "clickable": box.config.buttons.type == "mock",
        "buttons": box.buttons.describe() if box.buttons else [],
    }


async def _state(request: web.Request) -> web.Response:
    box = request.app[BOX_KEY]
    after = read_query(request, HardwareStateQuery).after
    if box.display is not None and after is not None:
        await box.display.wait_changed(after, LONG_POLL_SECONDS)
    return web.json_response(_state_of(box))


async def _display_png(request: web.Request) -> web.Response:
    box = request.app[BOX_KEY]
    if box.display is None:
        return problem(404, "No display", "display.type is 'none' on this node")
    buffer = io.BytesIO()
    box.display.image.save(buffer, format="PNG")
    return web.Response(
        body=buffer.getvalue(),
        content_type="image/png",
        headers={"Cache-Control": "no-store", "X-Display-Version": str(box.display.version)},
    )


async def _button(request: web.Request) -> web.Response:
    box = request.app[BOX_KEY]
    name, how = request.match_info["name"], request.match_info["how"]
    if box.buttons is None or box.config.buttons.type != "mock":
        return problem(
            409, "Not clickable", "only mock buttons (buttons.type='mock') can be clicked"
        )
    if name not in box.buttons.buttons:
        return problem(404, "No such button", f"there is no button named {name!r}")
    pin = box.buttons.pin(name)
    pin.drive_low()  # pressed: the button connects the pin to ground
    try:
        if how == "hold":
            # Keep it down past the hold time, as a finger would.
            await asyncio.sleep(box.config.buttons.hold_seconds + 0.1)
    finally:
        pin.drive_high()
    return web.json_response({"button": name, "action": how})


async def _scan(request: web.Request) -> web.Response:
    box = request.app[BOX_KEY]
    code = (await read_body(request, HardwareScanIn)).code
    if len(code) > box.config.scanner.max_length:
        limit = box.config.scanner.max_length
        return problem(422, "Bad code", f"code: at most {limit} characters (scanner.max_length)")
    box.submit_scan(code)
    return web.json_response({"queued": True}, status=202)


async def _page(request: web.Request) -> web.Response:
    # The page carries its script and style inline: allow exactly those, by a fresh nonce,
    # under the same strict policy as the rest of the node (no 'unsafe-inline').
    nonce = secrets.token_urlsafe(16)
    text = _PAGE.replace("<style>", f'<style nonce="{nonce}">').replace(
        "<script>", f'<script nonce="{nonce}">'
    )
    policy = (
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "img-src 'self' blob: data:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    )
    return web.Response(
        text=text, content_type="text/html", headers={"Content-Security-Policy": policy}
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Scan box</title>
<style>
 body{font:16px system-ui,sans-serif;margin:2rem auto;max-width:36rem;padding:0 1rem;
      background:#222;color:#eee}
 #oled{width:512px;max-width:100%;image-rendering:pixelated;border:12px solid #000;
       border-radius:6px;background:#000;display:block}
 .row{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0}
 button{font:inherit;padding:.6rem 1rem;border-radius:2rem;border:0;background:#c33;color:#fff}
 button.hold{background:#733} input{font:inherit;padding:.5rem;flex:1}
 #err{color:#f88;min-height:1.2em}
</style></head><body>
<h1>Scan box <small id="station"></small></h1>
<img id="oled" alt="display">
<div class="row" id="buttons"></div>
<form class="row" id="scan"><input id="code" placeholder="type a barcode, press Enter"
 autocomplete="off"><button>Scan</button></form>
<p id="err"></p>
<script>
"use strict";
const m = location.hash.match(/token=([^&]+)/);
if (m) {
  localStorage.setItem("kitchen-token", decodeURIComponent(m[1]));
  history.replaceState(null, "", location.pathname);
}
const token = localStorage.getItem("kitchen-token") || "";
const headers = token ? {Authorization: "Bearer " + token} : {};
const err = document.getElementById("err");
async function call(path, opts = {}) {
  const r = await fetch(path, {...opts, headers: {...headers, ...(opts.headers || {})}});
  if (!r.ok) { let d = r.statusText; try { d = (await r.json()).detail || d; } catch (e) {}
    throw new Error(r.status + " " + d); }
  return r;
}
const post = path => call(path, {method: "POST"}).catch(show);
const sleep = ms => new Promise(ok => setTimeout(ok, ms));
function drawButtons(s) {
  const box = document.getElementById("buttons");
  box.textContent = "";
  for (const b of s.buttons) {
    const press = document.createElement("button");
    press.textContent = b.name + (b.press !== "none" ? " (" + b.press + ")" : "");
    press.disabled = !s.clickable;
    press.onclick = () => post("/api/hardware/buttons/" + b.name + "/press");
    box.append(press);
    if (b.hold !== "none") {
      const hold = document.createElement("button");
      hold.className = "hold"; hold.textContent = "hold " + b.name + " (" + b.hold + ")";
      hold.disabled = !s.clickable;
      hold.onclick = () => post("/api/hardware/buttons/" + b.name + "/hold");
      box.append(hold);
    }
  }
}
function show(e) { err.textContent = String(e.message || e); }
async function refresh() {
  const r = await call("/api/hardware/display.png");
  const img = document.getElementById("oled"), old = img.src;
  img.src = URL.createObjectURL(await r.blob());
  if (old) URL.revokeObjectURL(old);
}
async function main() {
  let version = -1, first = true;
  for (;;) {
    try {
      // No version seen yet: ask without one, which answers at once.
      const after = version < 0 ? "" : "?after=" + version;
      const s = await (await call("/api/hardware/state" + after)).json();
      if (first) {
        drawButtons(s);
        document.getElementById("station").textContent = s.station_id;
        first = false;
      }
      if (s.display && s.version !== version) { version = s.version; await refresh(); }
      if (!s.display) await sleep(5000);  // nothing to watch: do not spin
      err.textContent = "";
    } catch (e) { show(e); await sleep(2000); }
  }
}
document.getElementById("scan").onsubmit = ev => {
  ev.preventDefault();
  const input = document.getElementById("code");
  call("/api/hardware/scan", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({code: input.value})}).then(() => { input.value = ""; }).catch(show);
};
main();
</script></body></html>
"""
