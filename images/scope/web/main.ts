/**
 * The map page: a topology's nodes as a graph (cytoscape) or a table, fed by the app's websocket diffs.
 * Every URL is relative to the page (it lives under /api/app/<org>/).
 */
import cytoscape, { type Core, type ElementDefinition, type NodeSingular } from 'cytoscape';
import type { NodeSummary } from '../src/app/render.ts';

interface Diff {
  add?: NodeSummary[] | null;
  update?: NodeSummary[] | null;
  remove?: string[] | null;
}
interface TopologyInfo {
  id: string;
  name: string;
  stats: { node_count: number; nonpseudo_node_count: number; edge_count: number };
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
    scope?: { nodes: () => NodeSummary[]; topology: () => string; shown: () => string[]; zoom: () => number };
  }
}

const base = window.SCOPE_BASE ?? '';
const url = (p: string) => new URL(base + p, location.href);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const state = {
  topology: new URLSearchParams(location.hash.slice(1)).get('topology') ?? 'processes',
  mode: (new URLSearchParams(location.hash.slice(1)).get('mode') ?? 'graph') as 'graph' | 'table',
  nodes: new Map<string, NodeSummary>(),
  selected: null as string | null,
  search: '',
  hideUnconnected: false,
  hideKernel: false,
  hidden: { unconnected: 0, kernel: 0 },
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
const CELL_H = 84;
const PAD = 40;
/** Fitting never zooms out past this: a node's name stays ≥ ~10px tall (the user may still zoom out further). */
const MIN_FIT_ZOOM = 10 / FONT_SIZE;

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
        'text-wrap': 'ellipsis',
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
    { selector: 'node.hover, node:selected', style: { label: 'data(full)', 'text-wrap': 'wrap', 'z-index': 10 } },
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
  state.hidden = { unconnected: 0, kernel: 0 };
  if (state.hideKernel && isProcessTopology(state.topology)) {
    const before = list.length;
    list = list.filter((n) => !isKernelThread(n));
    state.hidden.kernel = before - list.length;
  }
  if (state.hideUnconnected) {
    // connected to another shown node, either way
    const ids = new Set(list.map((n) => n.id));
    const linked = new Set<string>();
    for (const n of list) {
      for (const to of n.adjacency) {
        if (to === n.id || !ids.has(to)) continue;
        linked.add(n.id);
        linked.add(to);
      }
    }
    const before = list.length;
    list = list.filter((n) => linked.has(n.id));
    state.hidden.unconnected = before - list.length;
  }
  return list.sort((a, b) => (a.rank || a.label).localeCompare(b.rank || b.label) || a.id.localeCompare(b.id));
}

// ---------- filters, remembered per topology

interface Filters {
  hideUnconnected: boolean;
  hideKernel: boolean;
}

function loadFilters(topology: string): Filters {
  // Weave Scope's defaults: processes hide unconnected ones and kernel threads; other views show everything
  const defaults: Filters = { hideUnconnected: isProcessTopology(topology), hideKernel: isProcessTopology(topology) };
  try {
    const saved = JSON.parse(localStorage.getItem(`scope.filters.${topology}`) ?? 'null') as Partial<Filters> | null;
    return { ...defaults, ...(saved ?? {}) };
  } catch {
    return defaults;
  }
}

function saveFilters(): void {
  try {
    localStorage.setItem(`scope.filters.${state.topology}`, JSON.stringify({ hideUnconnected: state.hideUnconnected, hideKernel: state.hideKernel }));
  } catch {
    // storage disabled: the choice lasts for this page only
  }
}

function applyFilters(): void {
  const f = loadFilters(state.topology);
  state.hideUnconnected = f.hideUnconnected;
  state.hideKernel = f.hideKernel;
  $<HTMLInputElement>('hide-unconnected').checked = f.hideUnconnected;
  $<HTMLInputElement>('hide-kernel').checked = f.hideKernel;
  $('hide-kernel-label').classList.toggle('hidden', !isProcessTopology(state.topology));
}

function renderFilterNote(): void {
  const note = $('filter-note');
  const parts: string[] = [];
  if (state.hidden.unconnected) parts.push(`${state.hidden.unconnected} unconnected`);
  if (state.hidden.kernel) parts.push(`${state.hidden.kernel} kernel thread${state.hidden.kernel > 1 ? 's' : ''}`);
  note.classList.toggle('hidden', parts.length === 0);
  if (!parts.length) return;
  const show = link('show all', () => {
    state.hideUnconnected = false;
    state.hideKernel = false;
    $<HTMLInputElement>('hide-unconnected').checked = false;
    $<HTMLInputElement>('hide-kernel').checked = false;
    saveFilters();
    render(true, true);
  });
  note.replaceChildren(`${parts.join(', ')} hidden `, show);
}

function matches(n: NodeSummary): boolean {
  if (!state.search) return true;
  const q = state.search.toLowerCase();
  return n.label.toLowerCase().includes(q) || n.labelMinor.toLowerCase().includes(q) || n.metadata.some((m) => m.value.toLowerCase().includes(q));
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
  $('empty').textContent = state.connected
    ? `No ${state.topology} reported yet. Start a probe pointed at this app; it appears here within seconds.`
    : 'Connecting to the app…';
  const hidden = state.hidden.unconnected + state.hidden.kernel;
  $('counts').textContent = `${nodes.length} ${state.topology} shown${hidden ? `, ${hidden} hidden` : ''}`;
  renderFilterNote();
  if (state.mode === 'graph') renderGraph(nodes, relayout, full);
  else renderTable(nodes);
  renderDetails();
}

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
        display: n.label,
        full: n.labelMinor ? `${n.label}\n${n.labelMinor}` : n.label,
        shape: SHAPES[n.shape] ?? 'ellipse',
        color: n.pseudo ? '#ffffff' : colorFor(n.rank || n.label),
        pseudo: Boolean(n.pseudo),
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
  const rowWidth = Math.max(Math.min(cy.width() || 1200, 1600) / MIN_FIT_ZOOM - 2 * PAD, Math.sqrt(area) * 1.4, CELL_W * 4);
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

/** Fits the graph, but never so far out that names become unreadable: then it shows the top-left (the components) and the rest is a pan away. */
function fit(): void {
  cy.fit(undefined, PAD);
  const z = cy.zoom();
  if (z > 1.5) {
    cy.zoom(1.5);
    cy.center();
  } else if (z < MIN_FIT_ZOOM) {
    const bb = cy.elements().boundingBox({ includeLabels: true });
    cy.zoom(MIN_FIT_ZOOM);
    const contentW = bb.w * MIN_FIT_ZOOM;
    const x = contentW < cy.width() - 2 * PAD ? (cy.width() - contentW) / 2 - bb.x1 * MIN_FIT_ZOOM : PAD - bb.x1 * MIN_FIT_ZOOM;
    cy.pan({ x, y: PAD - bb.y1 * MIN_FIT_ZOOM });
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

function renderTable(nodes: NodeSummary[]): void {
  const metaCols = new Map<string, string>();
  const metricCols = new Map<string, { label: string; format: string }>();
  for (const n of nodes) {
    for (const m of n.metadata.slice(0, 3)) if (!metaCols.has(m.id) && metaCols.size < 3) metaCols.set(m.id, m.label);
    for (const m of n.metrics) if (!metricCols.has(m.id) && metricCols.size < 2) metricCols.set(m.id, { label: m.label, format: m.format });
  }
  const head = $('table-head');
  head.replaceChildren(
    el('tr', {}, el('th', { textContent: 'Name' }), ...[...metaCols.values()].map((l) => el('th', { textContent: l })), ...[...metricCols.values()].map((m) => el('th', { textContent: m.label })), el('th', { textContent: 'Connections' })),
  );
  const inbound = new Map<string, number>();
  for (const n of state.nodes.values()) for (const to of n.adjacency) inbound.set(to, (inbound.get(to) ?? 0) + 1);
  const rows = nodes.filter(matches).map((n) => {
    const tr = el(
      'tr',
      { className: n.id === state.selected ? 'selected' : '' },
      el('td', { className: 'name' }, el('div', { textContent: n.label, title: n.label }), el('div', { className: 'minor', textContent: n.labelMinor })),
      ...[...metaCols.keys()].map((id) => {
        const m = n.metadata.find((x) => x.id === id);
        const v = m ? formatValue(m) : '';
        return el('td', { textContent: v, className: v.length > 40 ? 'long' : '' });
      }),
      ...[...metricCols.entries()].map(([id, c]) => {
        const m = n.metrics.find((x) => x.id === id);
        return el('td', { className: 'num', textContent: m ? formatMetric(c.format, m.value) : '' });
      }),
      el('td', { className: 'num', textContent: `${n.adjacency.length} out · ${inbound.get(n.id) ?? 0} in` }),
    );
    tr.dataset.id = n.id;
    tr.addEventListener('click', () => select(n.id));
    return tr;
  });
  $('table-body').replaceChildren(...rows);
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
  if (!n) {
    panel.classList.add('hidden');
    return;
  }
  panel.classList.remove('hidden');
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
  panel.replaceChildren(...sections);
}

function select(id: string | null): void {
  state.selected = id;
  cy.elements().unselect();
  render(false);
  if (id && state.mode === 'graph') {
    const n = cy.getElementById(id);
    if (n.nonempty()) cy.animate({ center: { eles: n } }, { duration: 200 });
  }
}

// ---------- topologies, live updates

let pendingSelect: string | null = null;

function switchTopology(name: string, selectID: string | null = null): void {
  state.topology = name;
  state.nodes.clear();
  state.selected = null;
  pendingSelect = selectID;
  cy.elements().remove();
  laidOut = false;
  applyFilters();
  saveHash();
  connect();
  void refreshTopologies();
}

function saveHash(): void {
  history.replaceState(null, '', `#topology=${encodeURIComponent(state.topology)}&mode=${state.mode}`);
}

let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
function connect(): void {
  clearTimeout(reconnectTimer);
  if (state.ws) {
    state.ws.onclose = null;
    state.ws.close();
  }
  const u = url(`api/topology/${encodeURIComponent(state.topology)}/ws?t=1s`);
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
  ws.onclose = () => {
    setConnected(false);
    reconnectTimer = setTimeout(connect, 2000);
  };
}

function setConnected(ok: boolean): void {
  state.connected = ok;
  $('conn').classList.toggle('live', ok);
  $('status-text').textContent = ok ? 'live' : 'disconnected, retrying…';
  render(false);
}

async function refreshTopologies(): Promise<void> {
  try {
    const list = (await (await fetch(url('api/topology'))).json()) as TopologyInfo[];
    const nav = $('topologies');
    nav.replaceChildren(
      ...list.map((t) => {
        const b = el('button', { type: 'button', className: t.id === state.topology ? 'active' : '' }, t.name, el('span', { className: 'count', textContent: String(t.stats.nonpseudo_node_count) }));
        b.dataset.topology = t.id;
        b.addEventListener('click', () => switchTopology(t.id));
        return b;
      }),
    );
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
  $('table').classList.toggle('hidden', mode !== 'table');
  saveHash();
  if (mode === 'graph') {
    cy.resize();
    render(true);
  } else render(false);
}

$('mode-graph').addEventListener('click', () => setMode('graph'));
$('mode-table').addEventListener('click', () => setMode('table'));
$<HTMLInputElement>('search').addEventListener('input', (e) => {
  state.search = (e.target as HTMLInputElement).value.trim();
  render(false);
});
$<HTMLInputElement>('hide-unconnected').addEventListener('change', (e) => {
  state.hideUnconnected = (e.target as HTMLInputElement).checked;
  saveFilters();
  render(true, true);
});
$<HTMLInputElement>('hide-kernel').addEventListener('change', (e) => {
  state.hideKernel = (e.target as HTMLInputElement).checked;
  saveFilters();
  render(true, true);
});

window.scope = { nodes: () => [...state.nodes.values()], topology: () => state.topology, shown: () => cy.nodes().map((n) => n.id()), zoom: () => cy.zoom() };
applyFilters();
setMode(state.mode);
connect();
void refreshTopologies();
setInterval(() => void refreshTopologies(), 5000);
