/**
 * The map page: a topology's nodes as a graph (cytoscape) or a table, fed by the app's websocket diffs.
 * Every URL is relative to the page (it lives under /api/app/<org>/).
 */
import cytoscape, { type Core, type ElementDefinition, type NodeSingular } from 'cytoscape';

interface NodeSummary {
  id: string;
  label: string;
  labelMinor: string;
  rank: string;
  shape: string;
  pseudo?: boolean;
  adjacency: string[];
  metadata: { id: string; label: string; value: string; priority: number; dataType?: string }[];
  metrics: { id: string; label: string; format: string; value: number; min: number; max: number }[];
  parents: { id: string; label: string; topologyId: string }[];
}
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
    scope?: { nodes: () => NodeSummary[]; topology: () => string };
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

const cy: Core = cytoscape({
  container: $('graph'),
  minZoom: 0.2,
  maxZoom: 3,
  style: [
    {
      selector: 'node',
      style: {
        shape: 'data(shape)' as unknown as cytoscape.Css.NodeShape,
        'background-color': 'data(color)',
        'border-width': 3,
        'border-color': '#ffffff',
        width: 46,
        height: 46,
        label: 'data(display)',
        'text-wrap': 'wrap',
        'text-valign': 'bottom',
        'text-margin-y': 6,
        'font-size': 12,
        color: '#1f2430',
        'text-background-color': '#ffffff',
        'text-background-opacity': 0.8,
        'text-background-padding': '2px',
        'text-background-shape': 'roundrectangle',
      },
    },
    { selector: 'node[?pseudo]', style: { 'background-color': '#ffffff', 'border-color': '#9aa3b5', 'border-style': 'dashed', 'border-width': 2 } },
    { selector: 'node:selected', style: { 'border-color': '#1b2233', 'border-width': 4 } },
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
cy.on('tap', (e) => {
  if (e.target === cy) select(null);
});

// ---------- data

function connected(n: NodeSummary): boolean {
  if (n.adjacency.length) return true;
  for (const o of state.nodes.values()) if (o.adjacency.includes(n.id)) return true;
  return false;
}

function visibleNodes(): NodeSummary[] {
  let list = [...state.nodes.values()];
  if (state.hideUnconnected) list = list.filter(connected);
  return list.sort((a, b) => (a.rank || a.label).localeCompare(b.rank || b.label) || a.id.localeCompare(b.id));
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

function render(relayout: boolean): void {
  const nodes = visibleNodes();
  $('empty').classList.toggle('hidden', state.nodes.size > 0);
  $('empty').textContent = state.connected
    ? `No ${state.topology} reported yet. Start a probe pointed at this app; it appears here within seconds.`
    : 'Connecting to the app…';
  $('counts').textContent = `${nodes.length} ${state.topology} shown`;
  if (state.mode === 'graph') renderGraph(nodes, relayout);
  else renderTable(nodes);
  renderDetails();
}

function renderGraph(nodes: NodeSummary[], relayout: boolean): void {
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
        display: n.labelMinor ? `${n.label}\n${n.labelMinor}` : n.label,
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
  if (changed && relayout) layout();
}

let layoutRunning: cytoscape.Layouts | null = null;
function layout(): void {
  layoutRunning?.stop();
  const n = cy.nodes().length;
  if (n === 0) return;
  const opts =
    n <= 2
      ? ({ name: 'circle', padding: 120, animate: false } as cytoscape.LayoutOptions)
      : ({ name: 'cose', animate: false, padding: 60, nodeRepulsion: () => 90_000, idealEdgeLength: () => 110, randomize: false, nodeDimensionsIncludeLabels: true } as cytoscape.LayoutOptions);
  layoutRunning = cy.layout(opts);
  layoutRunning.run();
  cy.fit(undefined, 60);
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
      el('td', {}, el('div', { textContent: n.label }), el('div', { className: 'minor', textContent: n.labelMinor })),
      ...[...metaCols.keys()].map((id) => {
        const m = n.metadata.find((x) => x.id === id);
        return el('td', { textContent: m ? formatValue(m) : '' });
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
  render(true);
});

window.scope = { nodes: () => [...state.nodes.values()], topology: () => state.topology };
setMode(state.mode);
connect();
void refreshTopologies();
setInterval(() => void refreshTopologies(), 5000);
