/**
 * The map page: a topology's nodes as a graph (cytoscape) or a table, fed by the app's websocket diffs.
 * Every URL is relative to the page (it lives under /api/app/<org>/).
 */
import cytoscape, { type Core, type ElementDefinition, type NodeSingular } from 'cytoscape';
import type { NodeSummary } from '../src/app/summary.ts';
import { familyOf, type OptionGroup } from '../src/app/catalogue.ts';
import type { TopologyListing } from '../src/app/views.ts';
import { parseQuery, type Matcher } from './search.ts';

interface Diff {
  add?: NodeSummary[] | null;
  update?: NodeSummary[] | null;
  remove?: string[] | null;
}
interface Probe {
  id: string;
  hostname: string;
  version: string;
  lastSeen: string;
}

declare global {
  interface Window {
    SCOPE_BASE?: string;
    scope?: {
      nodes: () => NodeSummary[];
      topology: () => string;
      shown: () => string[];
      zoom: () => number;
      /** the labels drawn under the nodes */
      labels: () => string[];
      /** whether every drawn node lies inside the graph's area */
      inView: () => boolean;
      /** a node's position on screen, relative to the graph's area, and the area's size */
      where: (id: string) => { x: number; y: number; width: number; height: number } | undefined;
    };
  }
}

const base = window.SCOPE_BASE ?? '';
const url = (p: string) => new URL(base + p, location.href);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const hash = new URLSearchParams(location.hash.slice(1));
const state = {
  topology: hash.get('topology') ?? 'processes',
  mode: (hash.get('mode') ?? 'graph') as 'graph' | 'table',
  nodes: new Map<string, NodeSummary>(),
  selected: hash.get('node'),
  search: '',
  matcher: undefined as Matcher | undefined,
  /** the current view's options as chosen (its defaults are not listed) */
  options: {} as Record<string, string>,
  listing: [] as TopologyListing[],
  hideKernel: false,
  hidden: { kernel: 0 },
  sort: { column: 'name', descending: false },
  ws: null as WebSocket | null,
  connected: false,
};

const SHAPES: Record<string, cytoscape.Css.NodeShape> = {
  circle: 'ellipse',
  square: 'round-rectangle',
  hexagon: 'hexagon',
  heptagon: 'heptagon',
  octagon: 'octagon',
  pentagon: 'pentagon',
  triangle: 'round-triangle',
  cloud: 'ellipse',
  cylinder: 'barrel',
  dottedcylinder: 'barrel',
  sheet: 'rectangle',
  dottedtriangle: 'triangle',
};

const COLORS = ['#3b7ddd', '#2e9d8f', '#8a5cd6', '#d9822b', '#c2477a', '#4e8f3a', '#b0882a', '#5a6ed1'];
function colorFor(s: string): string {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return COLORS[h % COLORS.length]!;
}

const NODE_SIZE = 36;
const FONT_SIZE = 12;
const CELL_W = 150; // grid cell for unconnected nodes: room for a label under each
const CELL_H = 96;
/** characters of a label line that fit a cell's width */
const LABEL_CHARS = 20;
const PAD = 40;

const cy: Core = cytoscape({
  container: $('graph'),
  minZoom: 0.15,
  maxZoom: 3,
  wheelSensitivity: 0.3,
  style: [
    {
      selector: 'node',
      style: {
        shape: 'data(shape)' as unknown as cytoscape.Css.NodeShape,
        'background-color': 'data(color)',
        'border-width': 3,
        'border-color': '#ffffff',
        width: NODE_SIZE,
        height: NODE_SIZE,
        label: 'data(display)',
        'text-wrap': 'wrap',
        'text-max-width': `${CELL_W - 12}px`,
        'text-valign': 'bottom',
        'text-margin-y': 5,
        'font-size': FONT_SIZE,
        color: '#1f2430',
        'text-background-color': '#ffffff',
        'text-background-opacity': 0.8,
        'text-background-padding': '2px',
        'text-background-shape': 'roundrectangle',
      },
    },
    { selector: 'node[?pseudo]', style: { 'background-color': '#ffffff', 'border-color': '#9aa3b5', 'border-style': 'dashed', 'border-width': 2 } },
    { selector: 'node:selected', style: { 'border-color': '#1b2233', 'border-width': 4 } },
    { selector: 'node.hover, node:selected', style: { label: 'data(full)', 'text-max-width': '320px', 'z-index': 10 } },
    { selector: 'node[?stack]', style: { 'border-style': 'double', 'border-width': 6 } },
    { selector: 'node.dim', style: { opacity: 0.2 } },
    { selector: 'node.match', style: { 'border-color': '#f2b01e', 'border-width': 4 } },
    {
      selector: 'edge',
      style: {
        width: 2,
        'line-color': '#a8b1c4',
        'target-arrow-color': '#a8b1c4',
        'target-arrow-shape': 'triangle',
        'curve-style': 'bezier',
        'arrow-scale': 0.9,
      },
    },
    { selector: 'edge.dim', style: { opacity: 0.15 } },
    { selector: 'edge.hl', style: { 'line-color': '#2f6fdf', 'target-arrow-color': '#2f6fdf', width: 3 } },
  ],
  elements: [],
});

cy.on('tap', 'node', (e) => select((e.target as NodeSingular).id()));
cy.on('mouseover', 'node', (e) => (e.target as NodeSingular).addClass('hover'));
cy.on('mouseout', 'node', (e) => (e.target as NodeSingular).removeClass('hover'));
cy.on('tap', (e) => {
  if (e.target === cy) select(null);
});

// ---------- data

const isProcessTopology = (t: string) => t.startsWith('processes');

/** A kernel thread: no command line (Linux leaves it empty), shown by ps as [name]. */
function isKernelThread(n: NodeSummary): boolean {
  if (n.pseudo) return false;
  if (/^\[.*\]$/.test(n.rank) || /^\[.*\]$/.test(n.label)) return true;
  if (state.topology !== 'processes') return false;
  return !n.metadata.some((m) => m.id === 'cmdline' && m.value.trim() !== '');
}

function visibleNodes(): NodeSummary[] {
  let list = [...state.nodes.values()];
  state.hidden = { kernel: 0 };
  if (state.hideKernel && isProcessTopology(state.topology)) {
    const before = list.length;
    list = list.filter((n) => !isKernelThread(n));
    state.hidden.kernel = before - list.length;
  }
  return list.sort((a, b) => (a.rank || a.label).localeCompare(b.rank || b.label) || a.id.localeCompare(b.id));
}

// ---------- the view's options (on the server, as Scope's) and kernel threads (here), remembered per family of views

interface Remembered {
  options: Record<string, string>;
  hideKernel: boolean;
}

function loadRemembered(topology: string): Remembered {
  const defaults: Remembered = { options: {}, hideKernel: isProcessTopology(topology) };
  try {
    const saved = JSON.parse(localStorage.getItem(`scope.view.${familyOf(topology)}`) ?? 'null') as Partial<Remembered> | null;
    return { ...defaults, ...(saved ?? {}) };
  } catch {
    return defaults;
  }
}

function saveRemembered(): void {
  try {
    localStorage.setItem(`scope.view.${familyOf(state.topology)}`, JSON.stringify({ options: state.options, hideKernel: state.hideKernel }));
  } catch {
    // storage disabled: the choice lasts for this page only
  }
}

function applyRemembered(): void {
  const r = loadRemembered(state.topology);
  state.options = r.options;
  state.hideKernel = r.hideKernel;
  $<HTMLInputElement>('hide-kernel').checked = r.hideKernel;
  $('hide-kernel-label').classList.toggle('hidden', !isProcessTopology(state.topology));
}

const optionsQuery = (): string => new URLSearchParams(state.options).toString();

function setOption(group: string, value: string): void {
  state.options = { ...state.options, [group]: value };
  saveRemembered();
  reconnect();
}

/** The listing of the current view (a sub-topology is listed under its parent). */
function currentListing(): TopologyListing | undefined {
  for (const t of state.listing) {
    if (t.id === state.topology) return t;
    const sub = t.sub_topologies?.find((s) => s.id === state.topology);
    if (sub) return sub;
  }
  return undefined;
}

function renderFilterNote(): void {
  const note = $('filter-note');
  const parts: string[] = [];
  const filtered = currentListing()?.stats.filtered_nodes ?? 0;
  if (filtered) parts.push(`${filtered} filtered by the view's options`);
  if (state.hidden.kernel) parts.push(`${state.hidden.kernel} kernel thread${state.hidden.kernel > 1 ? 's' : ''} hidden`);
  note.classList.toggle('hidden', parts.length === 0);
  if (!parts.length) return;
  note.replaceChildren(parts.join(', '));
  if (state.hidden.kernel) {
    note.append(
      ' ',
      link('show kernel threads', () => {
        state.hideKernel = false;
        $<HTMLInputElement>('hide-kernel').checked = false;
        saveRemembered();
        render(true, true);
      }),
    );
  }
}

function matches(n: NodeSummary): boolean {
  return state.matcher ? state.matcher(n) : true;
}

function apply(d: Diff): void {
  for (const id of d.remove ?? []) state.nodes.delete(id);
  for (const n of d.add ?? []) state.nodes.set(n.id, n);
  for (const n of d.update ?? []) state.nodes.set(n.id, n);
  const structural = (d.add?.length ?? 0) > 0 || (d.remove?.length ?? 0) > 0 || (d.update ?? []).length > 0;
  render(structural);
}

// ---------- rendering

function render(relayout: boolean, full = false): void {
  const nodes = visibleNodes();
  $('empty').classList.toggle('hidden', state.nodes.size > 0);
  const filtered = currentListing()?.stats.filtered_nodes ?? 0;
  $('empty').textContent = !state.connected
    ? 'Connecting to the app…'
    : filtered
      ? `Nothing to show with this view's options (${filtered} filtered): choose others above.`
      : `No ${(currentListing()?.name ?? state.topology).toLowerCase()} reported yet. Start a probe pointed at this app; it appears here within seconds.`;
  $('counts').textContent = countsText(nodes);
  renderFilterNote();
  if (state.mode === 'graph') renderGraph(nodes, relayout, full);
  else renderTable(nodes);
  renderDetails();
}

/** The footer: what is shown, and with a search what of it matches. */
function countsText(nodes: NodeSummary[]): string {
  const noun = nodes.length === 1 ? 'node' : 'nodes';
  if (!state.matcher) return `${nodes.length} ${noun} shown`;
  return `${nodes.filter(matches).length} of ${nodes.length} ${noun} shown match “${state.search}”`;
}

/** A label line cut to what fits under a node. */
const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

function renderGraph(nodes: NodeSummary[], relayout: boolean, full: boolean): void {
  const want = new Set(nodes.map((n) => n.id));
  const els: ElementDefinition[] = [];
  let changed = false;
  cy.batch(() => {
    cy.nodes().forEach((n) => {
      if (!want.has(n.id())) {
        n.remove();
        changed = true;
      }
    });
    for (const n of nodes) {
      const data = {
        id: n.id,
        // Scope's two labels under the node: the name, and the minor label (host and pid, image, namespace, count)
        display: n.labelMinor ? `${cut(n.label, LABEL_CHARS)}\n${cut(n.labelMinor, LABEL_CHARS + 4)}` : cut(n.label, LABEL_CHARS),
        full: n.labelMinor ? `${n.label}\n${n.labelMinor}` : n.label,
        shape: SHAPES[n.shape] ?? 'ellipse',
        color: n.pseudo ? '#ffffff' : colorFor(n.rank || n.label),
        pseudo: Boolean(n.pseudo),
        stack: Boolean(n.stack),
      };
      const existing = cy.getElementById(n.id);
      if (existing.nonempty()) existing.data(data);
      else {
        els.push({ group: 'nodes', data });
        changed = true;
      }
    }
    if (els.length) cy.add(els);
    const wantEdges = new Set<string>();
    const edgeEls: ElementDefinition[] = [];
    for (const n of nodes) {
      for (const to of n.adjacency) {
        if (!want.has(to)) continue;
        const id = `${n.id}→${to}`;
        wantEdges.add(id);
        if (cy.getElementById(id).empty()) {
          edgeEls.push({ group: 'edges', data: { id, source: n.id, target: to } });
          changed = true;
        }
      }
    }
    cy.edges().forEach((e) => {
      if (!wantEdges.has(e.id())) {
        e.remove();
        changed = true;
      }
    });
    if (edgeEls.length) cy.add(edgeEls);
    cy.nodes().forEach((n) => {
      const s = state.nodes.get(n.id());
      const m = s ? matches(s) : true;
      n.toggleClass('dim', Boolean(state.search) && !m);
      n.toggleClass('match', Boolean(state.search) && m);
    });
    cy.edges().forEach((e) => {
      e.toggleClass('dim', Boolean(state.search) && (e.source().hasClass('dim') || e.target().hasClass('dim')));
      e.toggleClass('hl', e.source().id() === state.selected || e.target().id() === state.selected);
    });
  });
  if (state.selected && cy.getElementById(state.selected).nonempty()) cy.getElementById(state.selected).select();
  if (relayout && (changed || full)) layout(full);
}

/** Where the next unconnected node goes: a grid below the connected components. */
const grid = { x: 0, y: 0, cols: 8, used: 0 };
let laidOut = false;
let userMoved = false;
cy.on('dragpan scrollzoom pinchzoom', () => {
  userMoved = true;
});

/**
 * Full layout: each connected component laid out on its own (cose), components packed in rows, biggest first,
 * unconnected nodes in a grid below them. Otherwise only nodes not yet placed move: next to a placed neighbour,
 * or into the next grid slot, so a live update never reshuffles what the user is looking at.
 */
function layout(full: boolean): void {
  const nodes = cy.nodes();
  if (nodes.empty()) return;
  const fresh = nodes.filter((n) => !n.scratch('_placed'));
  if (!full && laidOut && fresh.length <= Math.max(8, nodes.length / 3)) {
    placeNew(fresh);
    // the camera follows (positions stay) until the user pans or zooms themselves
    if (!userMoved) fit();
    return;
  }
  fullLayout();
  laidOut = true;
  userMoved = false;
  fit();
}

function fullLayout(): void {
  const comps = cy.elements().components();
  const groups = comps.filter((c) => c.nodes().length > 1).sort((a, b) => b.nodes().length - a.nodes().length);
  const singles = comps.filter((c) => c.nodes().length === 1).map((c) => c.nodes()[0]!);
  singles.sort((a, b) => String(a.data('display')).localeCompare(String(b.data('display'))) || a.id().localeCompare(b.id()));
  const area = groups.reduce((s, c) => s + c.nodes().length * CELL_W * CELL_H * 1.6, 0) + singles.length * CELL_W * CELL_H;
  // rows as wide as make the whole as wide for its height as the window: fitting it then fills the window
  const aspect = (cy.width() || 1200) / (cy.height() || 800);
  const rowWidth = Math.max(Math.sqrt(area * aspect), CELL_W * 4);
  let x = 0;
  let y = 0;
  let rowH = 0;
  for (const c of groups) {
    const n = c.nodes().length;
    if (n === 2) {
      c.nodes()[0]!.position({ x: 0, y: 0 });
      c.nodes()[1]!.position({ x: CELL_W * 1.2, y: 0 });
    } else {
      c.layout({
        name: 'cose',
        animate: false,
        fit: false,
        randomize: true,
        padding: 0,
        nodeDimensionsIncludeLabels: true,
        idealEdgeLength: () => 100,
        nodeRepulsion: () => 40_000,
        gravity: 1,
        numIter: 1000,
      } as cytoscape.LayoutOptions).run();
    }
    const bb = c.nodes().boundingBox({ includeLabels: true });
    if (x > 0 && x + bb.w > rowWidth) {
      x = 0;
      y += rowH + CELL_H;
      rowH = 0;
    }
    c.nodes().shift({ x: x - bb.x1, y: y - bb.y1 });
    x += bb.w + CELL_W;
    rowH = Math.max(rowH, bb.h);
  }
  grid.cols = Math.max(4, Math.floor(rowWidth / CELL_W));
  grid.x = NODE_SIZE / 2;
  grid.y = groups.length ? y + rowH + CELL_H * 1.2 : NODE_SIZE / 2;
  grid.used = 0;
  for (const n of singles) n.position(nextSlot());
  cy.nodes().forEach((n) => void n.scratch('_placed', true));
}

function nextSlot(): cytoscape.Position {
  const i = grid.used++;
  return { x: grid.x + (i % grid.cols) * CELL_W, y: grid.y + Math.floor(i / grid.cols) * CELL_H };
}

/** The nearest spot around `at` where no placed node's label would overlap. */
function freeSpotNear(at: cytoscape.Position, self: NodeSingular): cytoscape.Position {
  const placed = cy.nodes().filter((o) => o.id() !== self.id() && Boolean(o.scratch('_placed'))).map((o) => (o as NodeSingular).position());
  const free = (p: cytoscape.Position) => placed.every((q) => Math.abs(q.x - p.x) >= CELL_W * 0.9 || Math.abs(q.y - p.y) >= CELL_H * 0.9);
  for (let ring = 1; ring <= 6; ring++) {
    for (let i = 0; i < 8 * ring; i++) {
      const a = (i / (8 * ring)) * 2 * Math.PI;
      const p = { x: at.x + ring * CELL_W * Math.cos(a), y: at.y + ring * CELL_H * Math.sin(a) };
      if (free(p)) return p;
    }
  }
  return nextSlot();
}

function placeNew(fresh: cytoscape.NodeCollection): void {
  const left: NodeSingular[] = [];
  fresh.forEach((n) => {
    const anchor = n.neighborhood('node').filter((o) => Boolean(o.scratch('_placed')))[0];
    if (!anchor) {
      left.push(n);
      return;
    }
    n.position(freeSpotNear(anchor.position(), n));
    n.scratch('_placed', true);
  });
  for (const n of left) {
    n.position(nextSlot());
    n.scratch('_placed', true);
  }
}

/** Fits the whole graph in the window (not closer than 1.5×: a few nodes stay node-sized). */
function fit(): void {
  cy.fit(undefined, PAD);
  if (cy.zoom() > 1.5) {
    cy.zoom(1.5);
    cy.center();
  }
}

function formatMetric(format: string, v: number): string {
  if (format === 'percent') return `${v.toFixed(2)} %`;
  if (format === 'filesize') {
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
  }
  if (format === 'integer') return String(Math.round(v));
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function formatValue(m: NodeSummary['metadata'][number]): string {
  if (m.dataType === 'duration' && /^\d+$/.test(m.value)) {
    let s = Number(m.value);
    const d = Math.floor(s / 86400);
    s %= 86400;
    const h = Math.floor(s / 3600);
    s %= 3600;
    const min = Math.floor(s / 60);
    return `${d ? `${d}d ` : ''}${h ? `${h}h ` : ''}${min}m ${s % 60}s`;
  }
  return m.value;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
}

interface Column {
  key: string;
  label: string;
  className?: (text: string) => string;
  text: (n: NodeSummary) => string;
  /** what the column sorts by (the text where not given) */
  sortBy?: (n: NodeSummary) => number | string;
}

function tableColumns(nodes: NodeSummary[], inbound: Map<string, number>): Column[] {
  const metaCols = new Map<string, string>();
  const metricCols = new Map<string, { label: string; format: string }>();
  for (const n of nodes) {
    for (const m of n.metadata.slice(0, 3)) if (!metaCols.has(m.id) && metaCols.size < 3) metaCols.set(m.id, m.label);
    for (const m of n.metrics) if (!metricCols.has(m.id) && metricCols.size < 2) metricCols.set(m.id, { label: m.label, format: m.format });
  }
  const meta = (n: NodeSummary, id: string) => n.metadata.find((x) => x.id === id);
  const metric = (n: NodeSummary, id: string) => n.metrics.find((x) => x.id === id);
  return [
    { key: 'name', label: 'Name', text: (n) => n.label, sortBy: (n) => (n.label || n.rank).toLowerCase() },
    ...[...metaCols.entries()].map(([id, label]): Column => ({
      key: `meta:${id}`,
      label,
      className: (v) => (v.length > 40 ? 'long' : ''),
      text: (n) => {
        const m = meta(n, id);
        return m ? formatValue(m) : '';
      },
      sortBy: (n) => {
        const v = meta(n, id)?.value ?? '';
        return v !== '' && Number.isFinite(Number(v)) ? Number(v) : v.toLowerCase();
      },
    })),
    ...[...metricCols.entries()].map(([id, c]): Column => ({
      key: `metric:${id}`,
      label: c.label,
      className: () => 'num',
      text: (n) => {
        const m = metric(n, id);
        return m ? formatMetric(c.format, m.value) : '';
      },
      sortBy: (n) => metric(n, id)?.value ?? -Infinity,
    })),
    { key: 'connections', label: 'Connections', className: () => 'num', text: (n) => `${n.adjacency.length} out · ${inbound.get(n.id) ?? 0} in`, sortBy: (n) => n.adjacency.length + (inbound.get(n.id) ?? 0) },
  ];
}

/** The table: a column header sorts by it, a second click the other way round. */
function renderTable(nodes: NodeSummary[]): void {
  const inbound = new Map<string, number>();
  for (const n of state.nodes.values()) for (const to of n.adjacency) inbound.set(to, (inbound.get(to) ?? 0) + 1);
  const columns = tableColumns(nodes, inbound);
  const sortColumn = columns.find((c) => c.key === state.sort.column) ?? columns[0]!;
  const head = $('table-head');
  head.replaceChildren(
    el(
      'tr',
      {},
      ...columns.map((c) => {
        const th = el('th', { textContent: c.label, title: `Sort by ${c.label}` });
        th.dataset.column = c.key;
        if (c === sortColumn) th.setAttribute('aria-sort', state.sort.descending ? 'descending' : 'ascending');
        th.addEventListener('click', () => {
          state.sort = { column: c.key, descending: c === sortColumn ? !state.sort.descending : false };
          render(false);
        });
        return th;
      }),
    ),
  );
  const key = sortColumn.sortBy ?? sortColumn.text;
  const sign = state.sort.descending ? -1 : 1;
  const rows = nodes
    .filter(matches)
    .map((n) => ({ n, k: key(n) }))
    .sort((a, b) => sign * (typeof a.k === 'number' && typeof b.k === 'number' ? a.k - b.k : String(a.k).localeCompare(String(b.k))) || a.n.id.localeCompare(b.n.id))
    .map(({ n }) => {
      const cells = columns.map((c) => {
        if (c.key === 'name') return el('td', { className: 'name' }, el('div', { textContent: n.label, title: n.label }), el('div', { className: 'minor', textContent: n.labelMinor }));
        const text = c.text(n);
        return el('td', { textContent: text, className: c.className?.(text) ?? '' });
      });
      const tr = el('tr', { className: n.id === state.selected ? 'selected' : '' }, ...cells);
      tr.dataset.id = n.id;
      tr.addEventListener('click', () => select(n.id));
      return tr;
    });
  replaceIfChanged($('table-body'), rows);
}

function link(label: string, onClick: () => void): HTMLAnchorElement {
  const a = el('a', { textContent: label, href: '#' });
  a.addEventListener('click', (e) => {
    e.preventDefault();
    onClick();
  });
  return a;
}

function renderDetails(): void {
  const panel = $('details');
  const n = state.selected ? state.nodes.get(state.selected) : undefined;
  showPanel(panel, Boolean(n));
  if (!n) return;
  const close = el('button', { className: 'close', textContent: '×', title: 'Close' });
  close.addEventListener('click', () => select(null));
  const sections: HTMLElement[] = [el('header', {}, close, el('h2', { textContent: n.label }), el('div', { className: 'minor', textContent: n.labelMinor }))];
  if (n.metrics.length) {
    const dl = el('dl');
    for (const m of n.metrics) {
      const pct = m.max > 0 && Number.isFinite(m.max) && m.max < 1e18 ? Math.min(100, (m.value / m.max) * 100) : 0;
      const bar = el('div', { className: 'bar-metric' }, el('span'));
      (bar.firstChild as HTMLElement).style.width = `${pct}%`;
      dl.append(el('dt', { textContent: m.label }), el('dd', {}, formatMetric(m.format, m.value), bar));
    }
    sections.push(el('section', {}, el('h3', { textContent: 'Status' }), dl));
  }
  if (n.metadata.length) {
    const dl = el('dl');
    for (const m of n.metadata) dl.append(el('dt', { textContent: m.label }), el('dd', { textContent: formatValue(m) }));
    sections.push(el('section', {}, el('h3', { textContent: 'Info' }), dl));
  }
  if (n.parents.length) {
    const ul = el('ul');
    for (const p of n.parents) {
      const item = p.topologyId ? link(p.label, () => switchTopology(p.topologyId, p.id)) : el('span', { textContent: p.label });
      ul.append(el('li', {}, item, el('span', { className: 'tag', textContent: p.topologyId || 'parent' })));
    }
    sections.push(el('section', {}, el('h3', { textContent: 'Relatives' }), ul));
  }
  const outbound = n.adjacency.map((id) => state.nodes.get(id)).filter((x): x is NodeSummary => Boolean(x));
  const inbound = [...state.nodes.values()].filter((o) => o.adjacency.includes(n.id));
  const conn = el('ul');
  for (const o of inbound) conn.append(el('li', {}, '← ', link(o.label, () => select(o.id)), el('span', { className: 'tag', textContent: o.labelMinor })));
  for (const o of outbound) conn.append(el('li', {}, '→ ', link(o.label, () => select(o.id)), el('span', { className: 'tag', textContent: o.labelMinor })));
  if (!inbound.length && !outbound.length) conn.append(el('li', { className: 'minor', textContent: 'No connections' }));
  sections.push(el('section', {}, el('h3', { textContent: `Connections (${inbound.length} in, ${outbound.length} out)` }), conn));
  replaceIfChanged(panel, sections);
}

/**
 * Puts the new children in place only when they differ from what is shown: a live update redraws every few
 * seconds, and replacing an unchanged panel or table between a press and a release loses the user's click.
 */
function replaceIfChanged(target: HTMLElement, children: readonly HTMLElement[]): void {
  const fresh = document.createElement('div');
  fresh.append(...children);
  if (target.dataset.rendered === fresh.innerHTML) return;
  target.dataset.rendered = fresh.innerHTML;
  target.replaceChildren(...fresh.childNodes);
}

/**
 * Opens or closes the details panel. The graph beside it gets narrower or wider; what was at its centre stays
 * there (cytoscape only sees window resizes, so it is told, and the pan follows half the change).
 */
function showPanel(panel: HTMLElement, visible: boolean): void {
  if (panel.classList.contains('hidden') !== visible) return;
  const before = cy.width();
  panel.classList.toggle('hidden', !visible);
  if (state.mode !== 'graph') return;
  cy.resize();
  cy.panBy({ x: (cy.width() - before) / 2, y: 0 });
}

function select(id: string | null): void {
  state.selected = id;
  saveHash();
  cy.elements().unselect();
  render(false);
  if (id && state.mode === 'graph') {
    const n = cy.getElementById(id);
    if (n.nonempty()) cy.animate({ center: { eles: n } }, { duration: 200 });
  }
}

// ---------- topologies, live updates

let pendingSelect: string | null = state.selected;

function switchTopology(name: string, selectID: string | null = null): void {
  state.topology = name;
  state.selected = null;
  pendingSelect = selectID;
  applyRemembered();
  reconnect();
}

/** The view or its options changed: its nodes are fetched anew and laid out afresh. */
function reconnect(): void {
  state.nodes.clear();
  cy.elements().remove();
  laidOut = false;
  saveHash();
  connect();
  render(false);
  void refreshTopologies();
}

/** The URL says what is shown: the view, graph or table, the selected node (a link to it opens it). */
function saveHash(): void {
  const h = new URLSearchParams({ topology: state.topology, mode: state.mode });
  if (state.selected) h.set('node', state.selected);
  history.replaceState(null, '', `#${h.toString()}`);
}

let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
function connect(): void {
  clearTimeout(reconnectTimer);
  if (state.ws) {
    state.ws.onclose = null;
    state.ws.close();
  }
  const query = optionsQuery();
  const u = url(`api/topology/${encodeURIComponent(state.topology)}/ws?t=1s${query ? `&${query}` : ''}`);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(u);
  state.ws = ws;
  let first = true;
  ws.onopen = () => setConnected(true);
  ws.onmessage = (e) => {
    const d = JSON.parse(String(e.data)) as Diff;
    if (first) {
      state.nodes.clear();
      first = false;
    }
    apply(d);
    if (pendingSelect && state.nodes.has(pendingSelect)) {
      select(pendingSelect);
      pendingSelect = null;
    }
  };
  ws.onclose = (e) => {
    setConnected(false);
    // options this app does not know (remembered from another version): back to the defaults
    if (e.code === 4400) {
      state.options = {};
      saveRemembered();
    }
    reconnectTimer = setTimeout(connect, 2000);
  };
}

function setConnected(ok: boolean): void {
  state.connected = ok;
  $('conn').classList.toggle('live', ok);
  $('status-text').textContent = ok ? 'live' : 'disconnected, retrying…';
  render(false);
}

function topologyButton(t: TopologyListing, className: string): HTMLButtonElement {
  const b = el('button', { type: 'button', className }, t.name, el('span', { className: 'count', textContent: String(t.stats.nonpseudo_node_count) }));
  b.dataset.topology = t.id;
  b.classList.toggle('active', t.id === state.topology);
  b.addEventListener('click', () => switchTopology(t.id));
  return b;
}

/** The views (a parent active when one of its sub-topologies is), the current family's sub-topologies, and the view's options. */
function renderTopologies(): void {
  const family = state.listing.find((t) => t.id === state.topology || t.sub_topologies?.some((s) => s.id === state.topology));
  $('topologies').replaceChildren(
    ...state.listing.map((t) => {
      const b = topologyButton(t, '');
      b.classList.toggle('active', t === family);
      return b;
    }),
  );
  $('subtopologies').replaceChildren(...(family?.sub_topologies?.length ? [family, ...family.sub_topologies].map((t) => topologyButton(t, 'sub')) : []));
  $('options').replaceChildren(...(currentListing()?.options ?? []).filter((g) => g.options.length > 0).map(optionGroup));
}

function optionGroup(g: OptionGroup): HTMLElement {
  const box = el('div', { className: 'option-group', role: 'group' });
  box.dataset.option = g.id;
  const current = state.options[g.id] ?? g.defaultValue;
  const button = (label: string, active: boolean, onClick: () => void, value: string) => {
    const b = el('button', { type: 'button', textContent: label, className: active ? 'active' : '' });
    b.dataset.value = value;
    b.addEventListener('click', onClick);
    return b;
  };
  if (g.selectType === 'union') {
    const chosen = new Set(current ? current.split(',') : []);
    box.append(button(g.noneLabel ?? 'All', chosen.size === 0, () => setOption(g.id, ''), ''));
    for (const o of g.options) {
      box.append(
        button(o.label, chosen.has(o.value), () => {
          if (chosen.has(o.value)) chosen.delete(o.value);
          else chosen.add(o.value);
          setOption(g.id, [...chosen].sort().join(','));
        }, o.value),
      );
    }
  } else {
    for (const o of g.options) box.append(button(o.label, o.value === current, () => setOption(g.id, o.value), o.value));
  }
  return box;
}

async function refreshTopologies(): Promise<void> {
  try {
    const query = optionsQuery();
    const res = await fetch(url(`api/topology${query ? `?${query}` : ''}`));
    if (res.status === 400) {
      state.options = {};
      saveRemembered();
      return;
    }
    state.listing = (await res.json()) as TopologyListing[];
    renderTopologies();
    renderFilterNote();
    const probes = (await (await fetch(url('api/probes'))).json()) as Probe[];
    $('probes').textContent = probes.length ? `${probes.length} probe${probes.length > 1 ? 's' : ''}: ${probes.map((p) => p.hostname || p.id).join(', ')}` : 'no probes';
  } catch {
    // the status dot tells; the next refresh tries again
  }
}

function setMode(mode: 'graph' | 'table'): void {
  state.mode = mode;
  $('mode-graph').classList.toggle('active', mode === 'graph');
  $('mode-table').classList.toggle('active', mode === 'table');
  $('graph').classList.toggle('hidden', mode !== 'graph');
  $('zoom').classList.toggle('hidden', mode !== 'graph');
  $('table').classList.toggle('hidden', mode !== 'table');
  saveHash();
  if (mode === 'graph') {
    cy.resize();
    render(true);
  } else render(false);
}

function setSearch(text: string): void {
  state.search = text.trim();
  state.matcher = parseQuery(state.search);
  render(false);
}

$('mode-graph').addEventListener('click', () => setMode('graph'));
$('mode-table').addEventListener('click', () => setMode('table'));
$<HTMLInputElement>('search').addEventListener('input', (e) => setSearch((e.target as HTMLInputElement).value));
$<HTMLInputElement>('hide-kernel').addEventListener('change', (e) => {
  state.hideKernel = (e.target as HTMLInputElement).checked;
  saveRemembered();
  render(true, true);
});

const ZOOM_STEP = 1.25;
const PAN_STEP = 120;
function zoomBy(factor: number): void {
  userMoved = true;
  cy.zoom({ level: cy.zoom() * factor, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
}
function panBy(x: number, y: number): void {
  userMoved = true;
  cy.panBy({ x, y });
}
$('zoom-in').addEventListener('click', () => zoomBy(ZOOM_STEP));
$('zoom-out').addEventListener('click', () => zoomBy(1 / ZOOM_STEP));
$('zoom-fit').addEventListener('click', () => {
  userMoved = false;
  fit();
});
$('pan-left').addEventListener('click', () => panBy(PAN_STEP, 0));
$('pan-right').addEventListener('click', () => panBy(-PAN_STEP, 0));
$('pan-up').addEventListener('click', () => panBy(0, PAN_STEP));
$('pan-down').addEventListener('click', () => panBy(0, -PAN_STEP));

// Weave Scope's keys: / search, Esc closes the details (and empties and leaves the search box), g / t graph or table
const KEYS: Record<string, () => void> = {
  '/': () => $<HTMLInputElement>('search').focus(),
  g: () => setMode('graph'),
  t: () => setMode('table'),
  '+': () => zoomBy(ZOOM_STEP),
  '-': () => zoomBy(1 / ZOOM_STEP),
  '0': () => $('zoom-fit').click(),
  ArrowLeft: () => panBy(PAN_STEP, 0),
  ArrowRight: () => panBy(-PAN_STEP, 0),
  ArrowUp: () => panBy(0, PAN_STEP),
  ArrowDown: () => panBy(0, -PAN_STEP),
};
document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
  if (e.key === 'Escape') {
    if (e.target === $('search')) {
      $<HTMLInputElement>('search').value = '';
      setSearch('');
    }
    if (typing) (e.target as HTMLElement).blur();
    if (state.selected) select(null);
    return;
  }
  if (typing) return;
  const action = KEYS[e.key];
  if (!action || (state.mode !== 'graph' && /^(Arrow|[+\-0]$)/.test(e.key))) return;
  e.preventDefault();
  action();
});

// a link to another view or node of this page (typed, pasted or followed) opens it without a reload
window.addEventListener('hashchange', () => {
  const h = new URLSearchParams(location.hash.slice(1));
  const topology = h.get('topology') ?? state.topology;
  const node = h.get('node');
  const mode = h.get('mode');
  if (mode === 'graph' || mode === 'table') setMode(mode);
  if (topology !== state.topology) switchTopology(topology, node);
  else if (node && state.nodes.has(node)) select(node);
  else pendingSelect = node;
});

// the map is served under /api/app/<org>/ by the hosted service, whose dashboard is one click away
// (the page's own URLs are relative; this one is the frontend's, so it is set here rather than in the HTML)
if (location.pathname.startsWith('/api/app/')) {
  $('dashboard').setAttribute('href', '/dashboard');
  $('dashboard').classList.remove('hidden');
  $('brand').classList.add('hidden');
}

window.scope = {
  nodes: () => [...state.nodes.values()],
  topology: () => state.topology,
  shown: () => cy.nodes().map((n) => n.id()),
  zoom: () => cy.zoom(),
  labels: () => cy.nodes().map((n) => String(n.data('display'))),
  inView: () => {
    const bb = cy.nodes().renderedBoundingBox({ includeLabels: true });
    return bb.x1 >= 0 && bb.y1 >= 0 && bb.x2 <= cy.width() && bb.y2 <= cy.height();
  },
  where: (id) => {
    const n = cy.getElementById(id);
    return n.nonempty() ? { ...(n as NodeSingular).renderedPosition(), width: cy.width(), height: cy.height() } : undefined;
  },
};
applyRemembered();
setMode(state.mode);
connect();
void refreshTopologies();
setInterval(() => void refreshTopologies(), 5000);
