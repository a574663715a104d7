// The statistics page's charts: uPlot (from npm, bundled into its own file by build.mjs and
// imported only when the page opens, so the dashboard's first load stays small).

import uPlot from "uplot";

let styled = false;

/** Load uPlot's stylesheet once (a file of central's own: the CSP allows no inline styles). */
function style() {
  if (styled) return;
  styled = true;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = __CHARTS_CSS__;
  document.head.append(link);
}

const COLORS = ["#1f6f4a", "#b3261e", "#1b4f8a", "#8a5a00"];

/**
 * Draw a chart into `el`: `x` are Unix seconds (dates), `series` [{label, values}];
 * `bars` draws bars instead of lines. Returns the uPlot instance (destroy() when done).
 */
export function chart(el, { x, series, bars = false, height = 260, format = (v) => String(v) }) {
  style();
  const width = Math.max(320, el.clientWidth || 640);
  const paths = bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined;
  const opts = {
    width,
    height,
    scales: { x: { time: true } },
    axes: [{}, { values: (u, ticks) => ticks.map(format), size: 70 }],
    series: [{}, ...series.map((s, i) => ({
      label: s.label,
      stroke: COLORS[i % COLORS.length],
      fill: bars ? `${COLORS[i % COLORS.length]}99` : undefined,
      width: 2,
      paths,
      points: { show: !bars },
      value: (u, v) => (v == null ? "" : format(v)),
    }))],
  };
  return new uPlot(opts, [x, ...series.map((s) => s.values)], el);
}
