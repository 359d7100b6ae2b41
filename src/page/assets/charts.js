// Small hand-written SVG charts: a bar chart and a scatter plot. No library.
// Each chart is an <svg role="img"> named by its <title> and described by its <desc>;
// the page puts a table of the same figures next to it.

const NS = 'http://www.w3.org/2000/svg';
let serial = 0;

/** An SVG element with attributes and children (strings become text). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined && value !== false) el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  return el;
}

/** The outer <svg>, labelled by its title and description. */
export function frame(width, height, title, desc, className, id) {
  const n = ++serial;
  const root = svg('svg', {
    id,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-labelledby': `chart-${n}-title chart-${n}-desc`,
    class: className,
    focusable: 'false',
  });
  root.append(svg('title', { id: `chart-${n}-title` }, title), svg('desc', { id: `chart-${n}-desc` }, desc));
  return root;
}

/** A round step giving about `count` intervals up to max (integers when max >= count). */
export function niceStep(max, count) {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const n = raw / power;
  let step = (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * power;
  if (max >= count) step = Math.max(1, Math.round(step));
  return step;
}

/** The ticks and the rounded top of an axis from 0 to about max. */
function axis(max, count) {
  const step = niceStep(max > 0 ? max : 1, count);
  const top = Math.max(step, Math.ceil((max > 0 ? max : 1) / step) * step);
  const out = [];
  for (let v = 0; v <= top + step / 2; v += step) out.push(Math.round(v * 1000) / 1000);
  return { top, ticks: out };
}

const fmt = (n) => Number(n).toLocaleString('en-GB', { maximumFractionDigits: 2 });

/**
 * A vertical bar chart.
 * items: [{label, value, tip}] in order; tip is the text of each bar's tooltip.
 */
export function barChart({ items, title, desc, yLabel = '', id }) {
  const W = 820, H = 300;
  const m = { top: 18, right: 16, bottom: 58, left: 60 };
  const root = frame(W, H, title, desc, 'chart bar-chart', id);
  const plotW = W - m.left - m.right, plotH = H - m.top - m.bottom;
  const { top: max, ticks } = axis(Math.max(0, ...items.map((d) => d.value)), 5);
  const y = (v) => m.top + plotH - (v / max) * plotH;
  const grid = svg('g', { class: 'grid', 'aria-hidden': 'true' });
  for (const t of ticks) {
    grid.append(
      svg('line', { x1: m.left, x2: W - m.right, y1: y(t), y2: y(t), class: t === 0 ? 'axis-line' : 'grid-line' }),
      svg('text', { x: m.left - 8, y: y(t) + 4, 'text-anchor': 'end', class: 'tick' }, fmt(t)),
    );
  }
  root.append(grid);
  if (yLabel) {
    root.append(svg('text', {
      class: 'axis-label', 'text-anchor': 'middle',
      transform: `translate(16 ${m.top + plotH / 2}) rotate(-90)`,
    }, yLabel));
  }
  if (!items.length) {
    root.append(svg('text', { x: m.left + plotW / 2, y: m.top + plotH / 2, 'text-anchor': 'middle', class: 'empty-note' }, 'Nothing to show for these filters'));
    return root;
  }
  const band = plotW / items.length;
  const barW = Math.max(1, Math.min(48, band * 0.78));
  const every = Math.max(1, Math.ceil(items.length / 14));
  const bars = svg('g', { class: 'bars' });
  items.forEach((d, i) => {
    const x = m.left + band * i + (band - barW) / 2;
    const top = y(d.value);
    bars.append(svg('rect', {
      x: x.toFixed(1), y: top.toFixed(1), width: barW.toFixed(1), height: Math.max(0, m.top + plotH - top).toFixed(1), class: 'bar',
    }, svg('title', {}, d.tip || `${d.label}: ${fmt(d.value)}`)));
    if (i % every === 0) {
      bars.append(svg('text', {
        x: (m.left + band * i + band / 2).toFixed(1), y: H - m.bottom + 18, 'text-anchor': 'middle', class: 'tick',
      }, d.label));
    }
  });
  root.append(bars);
  return root;
}

/**
 * A scatter plot with a least-squares line.
 * points: [{x, y, label}]; the y axis runs from yMin to yMax.
 */
export function scatterPlot({ points, title, desc, xLabel, yLabel, yMin = 1, yMax = 5, xMax: xTop = 0, xMin: xBottom = null, empty = 'No points to show', id }) {
  const W = 820, H = 380;
  const m = { top: 18, right: 20, bottom: 56, left: 64 };
  const root = frame(W, H, title, desc, 'chart scatter-chart', id);
  const plotW = W - m.left - m.right, plotH = H - m.top - m.bottom;
  const { top: xMax, ticks: allTicks } = axis(Math.max(1, xTop, ...points.map((p) => p.x)), 6);
  // Start the x axis near the smallest value, on a tick, rather than at 0.
  const xMinData = Math.min(xMax, xBottom ?? Infinity, ...points.map((p) => p.x));
  const step = allTicks[1] - allTicks[0];
  const xMin = Math.max(0, Math.floor((xMinData - step / 2) / step) * step);
  const xTicks = allTicks.filter((t) => t >= xMin);
  const x = (v) => m.left + ((v - xMin) / (xMax - xMin || 1)) * plotW;
  const y = (v) => m.top + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
  const grid = svg('g', { class: 'grid', 'aria-hidden': 'true' });
  for (let v = yMin; v <= yMax; v += 1) {
    grid.append(
      svg('line', { x1: m.left, x2: W - m.right, y1: y(v), y2: y(v), class: v === yMin ? 'axis-line' : 'grid-line' }),
      svg('text', { x: m.left - 10, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, String(v)),
    );
  }
  for (const t of xTicks) {
    grid.append(
      svg('line', { x1: x(t), x2: x(t), y1: m.top, y2: m.top + plotH, class: t === xMin ? 'axis-line' : 'grid-line' }),
      svg('text', { x: x(t), y: m.top + plotH + 20, 'text-anchor': 'middle', class: 'tick' }, fmt(t)),
    );
  }
  root.append(grid);
  root.append(
    svg('text', { x: m.left + plotW / 2, y: H - 10, 'text-anchor': 'middle', class: 'axis-label' }, xLabel),
    svg('text', { class: 'axis-label', 'text-anchor': 'middle', transform: `translate(18 ${m.top + plotH / 2}) rotate(-90)` }, yLabel),
  );
  if (!points.length) {
    root.append(svg('text', { x: m.left + plotW / 2, y: m.top + plotH / 2, 'text-anchor': 'middle', class: 'empty-note' }, empty));
    return root;
  }
  const fit = leastSquares(points);
  if (fit) {
    const x0 = xMin, x1 = xMax;
    const clamp = (v) => Math.min(yMax, Math.max(yMin, v));
    root.append(svg('line', {
      x1: x(x0), y1: y(clamp(fit.a + fit.b * x0)), x2: x(x1), y2: y(clamp(fit.a + fit.b * x1)), class: 'trend-line',
    }, svg('title', {}, 'Trend (least squares)')));
  }
  const dots = svg('g', { class: 'dots' });
  for (const p of points) {
    dots.append(svg('circle', { cx: x(p.x).toFixed(1), cy: y(p.y).toFixed(1), r: 7, class: 'dot' },
      svg('title', {}, `${p.label}: ${fmt(p.x)} suppliers, rated ${fmt(p.y)}`)));
  }
  root.append(dots);
  return root;
}

/** Intercept a and slope of the least-squares line, or null when x does not vary. */
export function leastSquares(points) {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0, sxy = 0;
  for (const p of points) { sxx += (p.x - mx) ** 2; sxy += (p.x - mx) * (p.y - my); }
  if (sxx === 0) return null;
  const b = sxy / sxx;
  return { a: my - b * mx, b };
}
