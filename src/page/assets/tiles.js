// The London tile-grid cartogram: one square per authority (32 boroughs and the City), laid
// out as in the well-known "London Squared" grid (After the Flood / London Datastore), 8
// columns by 7 rows, so each square sits roughly where the authority is.

import { svg, frame } from '/assets/charts.js';

/** Borough id (as in /api/v1/boroughs), short label, row and column. */
export const LONDON_TILES = [
  ['enfield', 'Enf', 0, 4],
  ['harrow', 'Hrw', 1, 2], ['barnet', 'Brn', 1, 3], ['haringey', 'Hgy', 1, 4], ['waltham-forest', 'Wth', 1, 5],
  ['hillingdon', 'Hdn', 2, 0], ['ealing', 'Eal', 2, 1], ['brent', 'Brt', 2, 2], ['camden', 'Cmd', 2, 3],
  ['islington', 'Isl', 2, 4], ['hackney', 'Hck', 2, 5], ['redbridge', 'Rdb', 2, 6], ['havering', 'Hvg', 2, 7],
  ['hounslow', 'Hns', 3, 0], ['hammersmith-and-fulham', 'Hms', 3, 1], ['kensington-and-chelsea', 'Kns', 3, 2],
  ['westminster', 'Wst', 3, 3], ['city-of-london', 'Cty', 3, 4], ['tower-hamlets', 'Tow', 3, 5],
  ['newham', 'Nwm', 3, 6], ['barking-and-dagenham', 'Bkd', 3, 7],
  ['richmond-upon-thames', 'Rch', 4, 1], ['wandsworth', 'Wns', 4, 2], ['lambeth', 'Lam', 4, 3],
  ['southwark', 'Swr', 4, 4], ['lewisham', 'Lsh', 4, 5], ['greenwich', 'Grn', 4, 6], ['bexley', 'Bxl', 4, 7],
  ['kingston-upon-thames', 'Kng', 5, 2], ['merton', 'Mrt', 5, 3], ['croydon', 'Crd', 5, 4], ['bromley', 'Brm', 5, 5],
  ['sutton', 'Stn', 6, 3],
].map(([id, abbr, row, col]) => ({ id, abbr, row, col }));

export const LONDON_IDS = new Set(LONDON_TILES.map((t) => t.id));

// A single-hue sequential scale (light to dark blue): readable by colour-blind people, and
// every square also prints its count. Text colours keep at least 4.5:1 on each fill.
const SHADES = [
  { fill: '#f3f2f1', text: '#3b3b3b' }, // none
  { fill: '#deebf7', text: '#0b0c0c' },
  { fill: '#9ecae1', text: '#0b0c0c' },
  { fill: '#4f94c4', text: '#0b0c0c' },
  { fill: '#08519c', text: '#ffffff' },
];

/** Class breaks for counts from 1 to max: up to four [from, to] ranges. */
export function breaks(max) {
  if (max <= 0) return [];
  if (max <= 4) return Array.from({ length: max }, (_, i) => [i + 1, i + 1]);
  const out = [];
  let from = 1;
  for (let k = 1; k <= 4; k += 1) {
    const to = k === 4 ? max : Math.max(from, Math.round((max * k) / 4));
    if (to >= from) out.push([from, to]);
    from = to + 1;
    if (from > max) break;
  }
  return out;
}

function shadeOf(count, ranges) {
  if (!count) return SHADES[0];
  const i = ranges.findIndex(([from, to]) => count >= from && count <= to);
  const offset = 4 - ranges.length; // fewer classes use the darker end
  return SHADES[Math.max(1, i + 1 + offset)];
}

/**
 * The cartogram as an <svg>.
 * counts: Map of borough id -> contracts; names: Map of borough id -> full name.
 */
export function tileMap({ id, counts, names, title, desc, unit = 'contracts' }) {
  const size = 64, gap = 6, pad = 4, legendH = 64;
  const W = pad * 2 + 8 * size + 7 * gap;
  const gridH = pad * 2 + 7 * size + 6 * gap;
  const root = frame(W, gridH + legendH, title, desc, 'tile-map', id);
  const max = Math.max(0, ...LONDON_TILES.map((t) => counts.get(t.id) || 0));
  const ranges = breaks(max);
  const tiles = svg('g', { class: 'tiles' });
  for (const t of LONDON_TILES) {
    const count = counts.get(t.id) || 0;
    const shade = shadeOf(count, ranges);
    const x = pad + t.col * (size + gap), y = pad + t.row * (size + gap);
    const name = names.get(t.id) || t.id;
    tiles.append(svg('g', { class: 'tile', 'data-borough': t.id, 'data-count': count },
      svg('title', {}, `${name}: ${count.toLocaleString('en-GB')} ${count === 1 ? unit.replace(/s$/, '') : unit}`),
      svg('rect', { x, y, width: size, height: size, rx: 4, fill: shade.fill, stroke: count ? '#0b0c0c' : '#b1b4b6', 'stroke-width': count ? 1 : 1, 'stroke-dasharray': count ? null : '3 3' }),
      svg('text', { x: x + size / 2, y: y + 27, 'text-anchor': 'middle', fill: shade.text, class: 'tile-abbr' }, t.abbr),
      svg('text', { x: x + size / 2, y: y + 48, 'text-anchor': 'middle', fill: shade.text, class: 'tile-count' }, count ? count.toLocaleString('en-GB') : '–'),
    ));
  }
  root.append(tiles);
  // The legend, under the grid.
  const legend = svg('g', { class: 'tile-legend', transform: `translate(${pad} ${gridH + 8})` });
  const entries = [{ label: 'none', shade: SHADES[0], dashed: true }]
    .concat(ranges.map(([from, to]) => ({ label: from === to ? `${from}` : `${from}–${to}`, shade: shadeOf(from, ranges) })));
  entries.forEach((e, i) => {
    const x = i * 96;
    legend.append(
      svg('rect', { x, y: 14, width: 28, height: 20, rx: 3, fill: e.shade.fill, stroke: e.dashed ? '#b1b4b6' : '#0b0c0c', 'stroke-dasharray': e.dashed ? '3 3' : null }),
      svg('text', { x: x + 34, y: 29, class: 'legend-text' }, e.label),
    );
  });
  legend.append(svg('text', { x: 0, y: 8, class: 'legend-text' }, `${unit[0].toUpperCase()}${unit.slice(1)} per authority:`));
  root.append(legend);
  return root;
}
