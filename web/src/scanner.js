// Camera scanning: getUserMedia → canvas frame → zxing-wasm readBarcodes in Plain text mode.
// The reader script and its wasm are the node's own copies (no CDN), loaded on first use.

/* global ZXingWASM */

const FORMATS = [
  "EAN13", "EAN8", "UPCA", "UPCE", "Code128", "DataMatrix", "QRCode",
  "DataBar", "DataBarExp", "DataBarLtd",
];
const MAX_WIDTH = 960;
const FRAME_INTERVAL_MS = 120;

let readerReady = null;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const el = document.createElement("script");
    el.src = src;
    el.onload = resolve;
    el.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(el);
  });
}

/** Load zxing-wasm's reader once, with the wasm located on this node. */
export function loadReader() {
  if (!readerReady) {
    readerReady = loadScript(__ZXING_JS__)
      .then(() =>
        ZXingWASM.prepareZXingModule({
          overrides: {
            locateFile: (path, prefix) => (path.endsWith(".wasm") ? __ZXING_WASM__ : prefix + path),
          },
          fireImmediately: true,
        }),
      )
      .catch((err) => {
        readerReady = null;
        throw err;
      });
  }
  return readerReady;
}

/**
 * Counts a barcode once while it stays in view: a code fires again only after it has been
 * out of the frame for `holdMs`.
 */
export class Debouncer {
  constructor(holdMs = 1500) {
    this.holdMs = holdMs;
    this.lastSeen = new Map();
  }

  /** Record the codes seen in one frame at time `now`; return the ones that are new. */
  frame(codes, now) {
    const fresh = [];
    for (const code of codes) {
      const seen = this.lastSeen.get(code);
      if (seen === undefined || now - seen > this.holdMs) fresh.push(code);
      this.lastSeen.set(code, now);
    }
    for (const [code, seen] of this.lastSeen) {
      if (now - seen > this.holdMs) this.lastSeen.delete(code);
    }
    return fresh;
  }
}

/**
 * Scan from the camera into `video`; call onCode(symbologyIdentifier + text) once per barcode
 * appearance; onFrame() runs after each decoded frame. Returns an object with stop().
 */
export async function startCamera(video, onCode, { holdMs = 1500, onFrame = null } = {}) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("This browser gives no camera here (HTTPS needed).");
  }
  const [stream] = await Promise.all([
    navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
    }),
    loadReader(),
  ]);
  video.srcObject = stream;
  video.setAttribute("playsinline", "");
  video.muted = true;
  await video.play();

  const canvas = document.createElement("canvas");
  const ctx2d = canvas.getContext("2d", { willReadFrequently: true });
  const debouncer = new Debouncer(holdMs);
  let stopped = false;
  let timer = null;

  async function tick() {
    if (stopped) return;
    const w = video.videoWidth;
    const hgt = video.videoHeight;
    if (w && hgt) {
      const scale = Math.min(1, MAX_WIDTH / w);
      canvas.width = Math.round(w * scale);
      canvas.height = Math.round(hgt * scale);
      ctx2d.drawImage(video, 0, 0, canvas.width, canvas.height);
      const image = ctx2d.getImageData(0, 0, canvas.width, canvas.height);
      try {
        const results = await ZXingWASM.readBarcodes(image, {
          formats: FORMATS,
          textMode: "Plain",
          maxNumberOfSymbols: 4,
          tryHarder: true,
        });
        const codes = results
          .filter((r) => r.isValid && r.text)
          .map((r) => (r.symbologyIdentifier || "") + r.text);
        for (const code of debouncer.frame(codes, performance.now())) onCode(code);
      } catch (err) {
        console.warn("barcode read failed", err);
      }
      if (onFrame) onFrame();
    }
    if (!stopped) timer = setTimeout(tick, FRAME_INTERVAL_MS);
  }
  timer = setTimeout(tick, 0);

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      for (const track of stream.getTracks()) track.stop();
      video.srcObject = null;
    },
  };
}
