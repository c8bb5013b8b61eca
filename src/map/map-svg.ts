/**
 * Draws an embedding map as standalone SVG, like learn/curve-svg.ts: it renders with no JavaScript in a
 * notebook, a README or a browser. Points are coloured by class: filled for labels people gave, hollow for a
 * model's suggestions, small and grey for unlabeled items; a legend lists each class with its counts. Past
 * `binsFrom` points (default 50,000) each point would cost the browser a node, so the map is drawn as density
 * bins instead: one square per occupied cell, in its commonest class's colour, darker where more points fall.
 */
export interface MapPoint {
  x: number;
  y: number;
  label: string | null;
  /** Who gave the label: a person ('human'), or a model ('model', 'vlm') whose suggestion nobody confirmed. */
  source: 'human' | 'model' | 'vlm' | null;
}

export interface MapSvgOptions {
  title?: string;
  /** A second line under the title (the model, the sample). */
  subtitle?: string;
  width?: number;
  height?: number;
  /** 'points' (a circle each), 'bins' (density squares), or 'auto' (bins past `binsFrom`). */
  mode?: 'auto' | 'points' | 'bins';
  binsFrom?: number;
}

export interface ClassCount {
  name: string;
  colour: string;
  /** Points labeled by people. */
  labeled: number;
  /** Points with a model's suggestion. */
  suggested: number;
}

const PALETTE = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#bcbd22', '#17becf', '#393b79',
  '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#dbdb8d', '#9edae5', '#637939',
];
const UNLABELED = '#9a9a9a';

/** The classes present among the points, commonest first, each with its colour and counts. */
export function classCounts(points: readonly MapPoint[]): ClassCount[] {
  const counts = new Map<string, { labeled: number; suggested: number }>();
  for (const point of points) {
    if (point.label === null) continue;
    let entry = counts.get(point.label);
    if (!entry) counts.set(point.label, (entry = { labeled: 0, suggested: 0 }));
    if (point.source === 'human') entry.labeled++;
    else entry.suggested++;
  }
  return [...counts]
    .sort(([a, x], [b, y]) => y.labeled + y.suggested - (x.labeled + x.suggested) || (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, entry], i) => ({ name, colour: colourOf(i), ...entry }));
}

function colourOf(index: number): string {
  // Past the palette, hues a golden angle apart stay distinguishable for a while longer.
  return index < PALETTE.length ? PALETTE[index]! : `hsl(${((index - PALETTE.length) * 137.508) % 360}, 60%, 42%)`;
}

/**
 * The SVG of a map.
 *
 * @example
 * writeFileSync('map.svg', mapSvg(points, { title: 'photos/: 5,000 of 120,000 items' }));
 */
export function mapSvg(points: readonly MapPoint[], options: MapSvgOptions = {}): string {
  const classes = classCounts(points);
  const colours = new Map(classes.map((c) => [c.name, c.colour]));
  const unlabeled = points.filter((p) => p.label === null).length;
  const legendRows = classes.length + (unlabeled ? 1 : 0) + 2;
  const width = options.width ?? 900;
  const plot = (options.height ?? 640) - 70;
  const legendColumns = Math.max(1, Math.ceil((legendRows * 18) / plot));
  // About 6.5 px a character at 12 px sans-serif, after an 18 px swatch: wide enough for the longest entry.
  const longest = Math.max(22, ...classes.map((c) => Math.min(c.name.length, 18) + countsText(c).length + 1));
  const columnWidth = Math.ceil(30 + longest * 6.5);
  const legendWidth = columnWidth * legendColumns;
  const height = Math.max(options.height ?? 640, 70 + Math.ceil(legendRows / legendColumns) * 18 + 20);
  const margin = { left: 16, top: 56, right: legendWidth + 16, bottom: 14 };
  const plotWidth = Math.max(100, width - margin.left - margin.right);
  const plotHeight = height - margin.top - margin.bottom;
  const fullWidth = margin.left + plotWidth + margin.right;

  // One scale for both axes: distances on the map mean the same across and down.
  const finite = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  let [xMin, xMax, yMin, yMax] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const p of finite) {
    xMin = Math.min(xMin, p.x);
    xMax = Math.max(xMax, p.x);
    yMin = Math.min(yMin, p.y);
    yMax = Math.max(yMax, p.y);
  }
  if (!finite.length) [xMin, xMax, yMin, yMax] = [0, 1, 0, 1];
  const pad = 8;
  const scale = Math.min((plotWidth - 2 * pad) / (xMax - xMin || 1), (plotHeight - 2 * pad) / (yMax - yMin || 1));
  const x0 = margin.left + plotWidth / 2 - ((xMax + xMin) / 2) * scale;
  const y0 = margin.top + plotHeight / 2 + ((yMax + yMin) / 2) * scale;
  const sx = (x: number) => x0 + x * scale;
  const sy = (y: number) => y0 - y * scale;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fullWidth}" height="${height}" viewBox="0 0 ${fullWidth} ${height}" font-family="sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="${margin.left}" y="22" font-size="15">${escape(options.title ?? `Embedding map of ${points.length} items`)}</text>`,
  ];
  if (options.subtitle) parts.push(`<text x="${margin.left}" y="40" fill="#555">${escape(options.subtitle)}</text>`);
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#ccc"/>`);

  const mode = options.mode ?? 'auto';
  const bins = mode === 'bins' || (mode === 'auto' && finite.length > (options.binsFrom ?? 50_000));
  if (bins) parts.push(...binMarks(finite, sx, sy, colours));
  else parts.push(...pointMarks(finite, sx, sy, colours));

  const lx = margin.left + plotWidth + 16;
  const legend: string[] = [];
  legend.push(`<circle cx="6" cy="-4" r="4" fill="#555"/><text x="16" y="0">labeled by a person</text>`);
  legend.push(`<circle cx="6" cy="-4" r="3.5" fill="none" stroke="#555" stroke-width="1.5"/><text x="16" y="0">suggested by a model</text>`);
  for (const c of classes) {
    legend.push(
      `<g class="legend-entry"><circle cx="6" cy="-4" r="5" fill="${c.colour}"/><text x="16" y="0">${escape(truncate(c.name, 18))} <tspan fill="#666">${countsText(c)}</tspan></text></g>`,
    );
  }
  if (unlabeled) legend.push(`<g class="legend-entry"><circle cx="6" cy="-4" r="3" fill="${UNLABELED}"/><text x="16" y="0">unlabeled <tspan fill="#666">${unlabeled}</tspan></text></g>`);
  const perColumn = Math.ceil(legend.length / legendColumns);
  parts.push('<g class="legend">');
  legend.forEach((entry, i) => {
    const column = Math.floor(i / perColumn);
    parts.push(`<g transform="translate(${lx + column * columnWidth} ${margin.top + 12 + (i % perColumn) * 18})">${entry}</g>`);
  });
  parts.push('</g>', '</svg>');
  return parts.join('\n');
}

/** A circle per point, grouped by how it is drawn: unlabeled under suggestions under labels. */
function pointMarks(points: readonly MapPoint[], sx: (x: number) => number, sy: (y: number) => number, colours: Map<string, string>): string[] {
  const radius = points.length > 5000 ? 1.6 : points.length > 500 ? 2.4 : 3.5;
  const groups = new Map<string, string[]>();
  const add = (key: string, mark: string) => {
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(mark);
  };
  for (const p of points) {
    const cx = sx(p.x).toFixed(1);
    const cy = sy(p.y).toFixed(1);
    if (p.label === null) add(`0<g class="unlabeled" fill="${UNLABELED}" fill-opacity="0.6">`, `<circle cx="${cx}" cy="${cy}" r="${(radius * 0.75).toFixed(1)}"/>`);
    else if (p.source !== 'human') add(`1<g class="suggested" fill="none" stroke="${colours.get(p.label)}" stroke-width="1">`, `<circle cx="${cx}" cy="${cy}" r="${radius}"/>`);
    else add(`2<g class="labeled" fill="${colours.get(p.label)}">`, `<circle cx="${cx}" cy="${cy}" r="${radius}"/>`);
  }
  const out: string[] = ['<g class="points">'];
  for (const key of [...groups.keys()].sort((a, b) => a[0]!.localeCompare(b[0]!))) out.push(key.slice(1), ...groups.get(key)!, '</g>');
  out.push('</g>');
  return out;
}

/** Density squares of 4 px: each in its commonest class's colour (grey when mostly unlabeled), opacity by log count. */
function binMarks(points: readonly MapPoint[], sx: (x: number) => number, sy: (y: number) => number, colours: Map<string, string>): string[] {
  const size = 4;
  const cells = new Map<string, Map<string, number>>();
  for (const p of points) {
    const key = `${Math.floor(sx(p.x) / size)},${Math.floor(sy(p.y) / size)}`;
    let cell = cells.get(key);
    if (!cell) cells.set(key, (cell = new Map()));
    const label = p.label ?? '';
    cell.set(label, (cell.get(label) ?? 0) + 1);
  }
  let most = 1;
  for (const cell of cells.values()) most = Math.max(most, [...cell.values()].reduce((sum, n) => sum + n, 0));
  const out: string[] = ['<g class="bins">'];
  for (const [key, cell] of cells) {
    const [i, j] = key.split(',').map(Number) as [number, number];
    let best = '';
    let bestCount = -1;
    let total = 0;
    for (const [label, n] of cell) {
      total += n;
      if (n > bestCount || (n === bestCount && label < best)) [best, bestCount] = [label, n];
    }
    const opacity = 0.25 + (0.75 * Math.log1p(total)) / Math.log1p(most);
    out.push(`<rect x="${i * size}" y="${j * size}" width="${size}" height="${size}" fill="${best === '' ? UNLABELED : colours.get(best)}" fill-opacity="${opacity.toFixed(2)}"/>`);
  }
  out.push('</g>');
  return out;
}

function countsText(c: ClassCount): string {
  return [c.labeled ? `${c.labeled} labeled` : '', c.suggested ? `${c.suggested} suggested` : ''].filter(Boolean).join(', ');
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
