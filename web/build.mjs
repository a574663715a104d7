// Build the two web apps: the node's kitchen app into appliance/webapp/static/ and central's
// household dashboard into central/webapp/static/. Both bundle and minify shared modules of
// web/src with esbuild, write content-hashed names, precompress (.gz/.br), print the transfer
// sizes and write build-info.json. The node's build also copies zxing-wasm's reader and wasm
// (served by the node itself, never from a CDN); central's adds uPlot as a lazily loaded chunk.
//
// Usage: npm ci && node build.mjs [--out DIR] [--central-out DIR]

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, deflateSync, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return resolve(i > 0 ? process.argv[i + 1] : join(here, fallback));
};
const NODE_OUT = arg("--out", "../appliance/webapp/static");
const CENTRAL_OUT = arg("--central-out", "../central/webapp/static");
const SRC = join(here, "src");
const ZXING = join(here, "node_modules/zxing-wasm/dist");
const UPLOT = join(here, "node_modules/uplot/dist");
const TARGET = ["safari16", "chrome110", "firefox115"];

const hash = (data) => createHash("sha256").update(data).digest("hex").slice(0, 10);

/** A fresh output directory: `emit` writes a file and remembers it for the size report. */
function output(OUT) {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(join(OUT, "app"), { recursive: true });
  const written = new Map(); // url -> bytes
  const emit = (url, data) => {
    const path = join(OUT, url.replace(/^\//, ""));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
    written.set(url, Buffer.from(data));
    return url;
  };
  const emitHashed = (name, ext, data) => emit(`/app/${name}.${hash(data)}.${ext}`, data);
  return { OUT, written, emit, emitHashed };
}

/** Bundle one entry module of web/src (ESM, minified); `define` fills build-time constants. */
async function bundle(entry, define = {}) {
  const result = await esbuild.build({
    entryPoints: [join(SRC, entry)],
    bundle: true,
    format: "esm",
    minify: true,
    target: TARGET,
    write: false,
    legalComments: "none",
    define,
  });
  return result.outputFiles[0].contents;
}

async function minifyCss(text) {
  return (await esbuild.transform(text, { loader: "css", minify: true, target: TARGET })).code;
}

// --- PNG icons, drawn here so no image tool is needed --------------------------------------
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
function png(size, pixel) {
  const raw = Buffer.alloc((size * 3 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const [r, g, b] = pixel(x / size, y / size);
      const o = y * (size * 3 + 1) + 1 + x * 3;
      raw[o] = r; raw[o + 1] = g; raw[o + 2] = b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", Buffer.alloc(0)),
  ]);
}
// A white card with barcode bars on green; everything inside the maskable safe zone (80 %).
const BARS = [1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1];
function iconPixel(u, v) {
  const green = [0x1f, 0x6f, 0x4a];
  if (u < 0.24 || u > 0.76 || v < 0.3 || v > 0.7) return green;
  if (u < 0.28 || u > 0.72 || v < 0.35 || v > 0.65) return [255, 255, 255];
  const bar = BARS[Math.floor(((u - 0.28) / 0.44) * BARS.length)];
  return bar ? [0x1d, 0x1f, 0x21] : [255, 255, 255];
}

// --- the node's kitchen app ----------------------------------------------------------------
async function buildNode() {
const { OUT, written, emit, emitHashed } = output(NODE_OUT);

const zxingJs = emitHashed("zxing-reader", "js", readFileSync(join(ZXING, "iife/reader/index.js")));
const zxingWasm = emitHashed("zxing_reader", "wasm", readFileSync(join(ZXING, "reader/zxing_reader.wasm")));

const icons = {};
for (const size of [180, 192, 512]) icons[size] = emitHashed(`icon-${size}`, "png", png(size, iconPixel));

const appJs = emitHashed("app", "js", await bundle("main.js",
  { __ZXING_JS__: JSON.stringify(zxingJs), __ZXING_WASM__: JSON.stringify(zxingWasm) }));
const appCss = emitHashed("app", "css", await minifyCss(readFileSync(join(SRC, "app.css"), "utf8")));

const manifest = JSON.parse(readFileSync(join(SRC, "manifest.webmanifest"), "utf8"));
manifest.icons = [
  { src: icons[192], sizes: "192x192", type: "image/png", purpose: "any" },
  { src: icons[512], sizes: "512x512", type: "image/png", purpose: "any" },
  { src: icons[512], sizes: "512x512", type: "image/png", purpose: "maskable" },
];
emit("/manifest.webmanifest", JSON.stringify(manifest));

const html = readFileSync(join(SRC, "index.html"), "utf8")
  .replaceAll("/app/__JS__", appJs).replaceAll("/app/__CSS__", appCss)
  .replaceAll("/app/__ICON_180__", icons[180]).replaceAll("/app/__ICON_192__", icons[192])
  .replace(/\n\s*/g, "\n");
emit("/index.html", html);

const precache = ["/", "/manifest.webmanifest", appJs, appCss, zxingJs, zxingWasm,
  icons[180], icons[192], icons[512]];
const version = hash(precache.join("\n") + html);
const sw = await esbuild.transform(readFileSync(join(SRC, "sw.js"), "utf8"), {
  loader: "js", minify: true, target: TARGET,
  define: { __VERSION__: JSON.stringify(version), __PRECACHE__: JSON.stringify(precache) },
});
emit("/sw.js", sw.code);

const firstLoad = ["/index.html", appJs, appCss, "/manifest.webmanifest", "/sw.js", icons[192]];
const scanExtra = [zxingJs, zxingWasm];
report(OUT, written, version, firstLoad, { scan_view_extra: scanExtra });
}

// --- central's household dashboard ----------------------------------------------------------
async function buildCentral() {
const { OUT, written, emit, emitHashed } = output(CENTRAL_OUT);

const icons = {};
for (const size of [180, 192]) icons[size] = emitHashed(`icon-${size}`, "png", png(size, iconPixel));
// uPlot only on the statistics page: its own module and stylesheet, imported when needed.
const chartsCss = emitHashed("uplot", "css", await minifyCss(readFileSync(join(UPLOT, "uPlot.min.css"), "utf8")));
const chartsJs = emitHashed("charts", "js", await bundle("central/charts.js",
  { __CHARTS_CSS__: JSON.stringify(chartsCss) }));
const appJs = emitHashed("dashboard", "js", await bundle("central/main.js",
  { __CHARTS_JS__: JSON.stringify(chartsJs) }));
const css = readFileSync(join(SRC, "app.css"), "utf8") + readFileSync(join(SRC, "central/dashboard.css"), "utf8");
const appCss = emitHashed("dashboard", "css", await minifyCss(css));

const manifest = JSON.parse(readFileSync(join(SRC, "central/manifest.webmanifest"), "utf8"));
manifest.icons = [{ src: icons[192], sizes: "192x192", type: "image/png", purpose: "any" }];
emit("/manifest.webmanifest", JSON.stringify(manifest));

const html = readFileSync(join(SRC, "central/index.html"), "utf8")
  .replaceAll("/app/__JS__", appJs).replaceAll("/app/__CSS__", appCss)
  .replaceAll("/app/__ICON_180__", icons[180]).replaceAll("/app/__ICON_192__", icons[192])
  .replace(/\n\s*/g, "\n");
emit("/index.html", html);

// The service worker only shows Web Push notifications: nothing to precache, no version.
const sw = await esbuild.transform(readFileSync(join(SRC, "central/sw.js"), "utf8"),
  { loader: "js", minify: true, target: TARGET });
emit("/sw.js", sw.code);

const version = hash([appJs, appCss, chartsJs, chartsCss, sw.code].join("\n") + html);
const firstLoad = ["/index.html", appJs, appCss, "/manifest.webmanifest", "/sw.js", icons[192]];
report(OUT, written, version, firstLoad, { charts_extra: [chartsJs, chartsCss] });
}

// --- precompress and report ---------------------------------------------------------------
/** Write .gz/.br twins, build-info.json (first load and the lazily loaded extras), print sizes. */
function report(OUT, written, version, firstLoad, extras) {
  const sizes = {};
  for (const [url, data] of [...written]) {
    const entry = { raw: data.length };
    if (!url.endsWith(".png")) {
      const gz = gzipSync(data, { level: 9 });
      const br = brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
      const path = join(OUT, url.replace(/^\//, ""));
      writeFileSync(`${path}.gz`, gz);
      writeFileSync(`${path}.br`, br);
      Object.assign(entry, { gzip: gz.length, br: br.length });
    }
    sizes[url] = entry;
  }
  const total = (urls, kind) => urls.reduce((n, u) => n + (sizes[u][kind] ?? sizes[u].raw), 0);
  const part = (urls) => ({ urls, raw: total(urls, "raw"), gzip: total(urls, "gzip"), br: total(urls, "br") });
  const info = {
    version,
    // Flat numbers for `make bench` (tests/perf/run.py reports keys with "bytes" in them).
    first_load_gzip_bytes: total(firstLoad, "gzip"),
    first_load_raw_bytes: total(firstLoad, "raw"),
  };
  for (const [name, urls] of Object.entries(extras)) info[`${name}_gzip_bytes`] = total(urls, "gzip");
  Object.assign(info, { files: sizes, first_load: part(firstLoad) });
  for (const [name, urls] of Object.entries(extras)) info[name] = part(urls);
  writeFileSync(join(OUT, "build-info.json"), JSON.stringify(info, null, 2));

  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  for (const [url, s] of Object.entries(sizes)) {
    console.log(`${url.padEnd(42)} ${kb(s.raw).padStart(10)}  gzip ${kb(s.gzip ?? s.raw).padStart(10)}`);
  }
  const line = (label, p) => console.log(
    `${label.padEnd(20)} ${kb(p.gzip)} gzip (${kb(p.raw)} raw, ${kb(p.br)} br)`);
  line("first-load transfer:", info.first_load);
  for (const name of Object.keys(extras)) line(`${name.replace(/_extra$/, "")} adds:`, info[name]);
  console.log(`built into ${OUT}`);
}

await buildNode();
await buildCentral();
