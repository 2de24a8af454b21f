/**
 * The app's views, as Weave Scope 1.13's topology registry describes them (app/api_topologies.go): their ids,
 * names, sub-topologies and per-view filter options. What a view's nodes are is render.ts's business; this
 * module only says which views exist and how a request's query picks their options.
 */
import { badRequest } from '@saas/kit/errors';

export type ViewID =
  | 'processes'
  | 'processes-by-name'
  | 'containers'
  | 'containers-by-image'
  | 'containers-by-hostname'
  | 'pods'
  | 'kube-controllers'
  | 'services'
  | 'hosts';

export interface TopologyOption {
  value: string;
  label: string;
}

/** One `?id=value` of a view (Scope's APITopologyOptionGroup). */
export interface OptionGroup {
  id: string;
  defaultValue: string;
  options: TopologyOption[];
  /** `union`: the value is a comma-separated set of options, empty for none (Scope's namespace filter) */
  selectType?: 'union';
  noneLabel?: string;
}

export interface ViewDescription {
  id: ViewID;
  name: string;
  /** the view it is a sub-topology of */
  parent?: ViewID;
  rank: number;
  hideIfEmpty: boolean;
  /** option groups that do not depend on the report (the namespace filter is added per report) */
  options: OptionGroup[];
  /** whether the namespace filter applies */
  namespaced: boolean;
}

const CONTAINER_OPTIONS: OptionGroup[] = [
  {
    id: 'system',
    defaultValue: 'application',
    options: [
      { value: 'all', label: 'All' },
      { value: 'system', label: 'System containers' },
      { value: 'application', label: 'Application containers' },
    ],
  },
  {
    id: 'stopped',
    defaultValue: 'running',
    options: [
      { value: 'stopped', label: 'Stopped containers' },
      { value: 'running', label: 'Running containers' },
      { value: 'both', label: 'Both' },
    ],
  },
  {
    id: 'pseudo',
    defaultValue: 'hide',
    options: [
      { value: 'show', label: 'Show uncontained' },
      { value: 'hide', label: 'Hide uncontained' },
    ],
  },
];

const UNCONNECTED_OPTIONS: OptionGroup[] = [
  {
    id: 'unconnected',
    defaultValue: 'hide',
    options: [
      { value: 'show', label: 'Show unconnected' },
      { value: 'hide', label: 'Hide unconnected' },
    ],
  },
];

const UNMANAGED_OPTIONS: OptionGroup[] = [
  {
    id: 'pseudo',
    defaultValue: 'hide',
    options: [
      { value: 'show', label: 'Show unmanaged' },
      { value: 'hide', label: 'Hide unmanaged' },
    ],
  },
];

export const VIEWS: ViewDescription[] = [
  { id: 'processes', name: 'Processes', rank: 1, hideIfEmpty: false, options: UNCONNECTED_OPTIONS, namespaced: false },
  { id: 'processes-by-name', name: 'by name', parent: 'processes', rank: 0, hideIfEmpty: false, options: UNCONNECTED_OPTIONS, namespaced: false },
  { id: 'containers', name: 'Containers', rank: 2, hideIfEmpty: false, options: CONTAINER_OPTIONS, namespaced: false },
  { id: 'containers-by-hostname', name: 'by DNS name', parent: 'containers', rank: 0, hideIfEmpty: false, options: CONTAINER_OPTIONS, namespaced: false },
  { id: 'containers-by-image', name: 'by image', parent: 'containers', rank: 0, hideIfEmpty: false, options: CONTAINER_OPTIONS, namespaced: false },
  { id: 'pods', name: 'Pods', rank: 3, hideIfEmpty: true, options: UNMANAGED_OPTIONS, namespaced: true },
  { id: 'kube-controllers', name: 'Controllers', parent: 'pods', rank: 0, hideIfEmpty: true, options: UNMANAGED_OPTIONS, namespaced: true },
  { id: 'services', name: 'Services', parent: 'pods', rank: 0, hideIfEmpty: true, options: UNMANAGED_OPTIONS, namespaced: true },
  { id: 'hosts', name: 'Hosts', rank: 4, hideIfEmpty: false, options: [], namespaced: false },
];

const BY_ID = new Map(VIEWS.map((v) => [v.id, v]));

export function isViewID(s: string): s is ViewID {
  return BY_ID.has(s as ViewID);
}

export function viewDescription(id: ViewID): ViewDescription {
  return BY_ID.get(id)!;
}

/** The namespace filter of the Kubernetes views, its options the report's namespaces (all shown by default). */
export function namespaceOptions(namespaces: string[]): OptionGroup {
  return { id: 'namespace', defaultValue: '', selectType: 'union', noneLabel: 'All Namespaces', options: namespaces.map((ns) => ({ value: ns, label: ns })) };
}

/** A view's options as chosen: every group's value (its default where the query names none). */
export interface ViewOptions {
  values: Record<string, string>;
  /** namespaces to show; empty: all of them */
  namespaces: string[];
}

/**
 * The options a query picks for a view. A value no option of its group has is refused (400), so a typo
 * is not silently the default; query parameters that are no option group of the view (e.g. the
 * websocket's `t`) are left alone. Namespaces are free text: one may not be reported yet.
 */
export function resolveOptions(view: ViewDescription, query: Record<string, unknown>): ViewOptions {
  const values: Record<string, string> = {};
  for (const group of view.options) {
    const raw = query[group.id];
    const value = typeof raw === 'string' && raw !== '' ? raw : group.defaultValue;
    if (!group.options.some((o) => o.value === value)) {
      throw badRequest(`${group.id}=${JSON.stringify(value)} is not an option of ${view.id} (${group.options.map((o) => o.value).join(', ')})`);
    }
    values[group.id] = value;
  }
  const ns = view.namespaced ? query.namespace : undefined;
  const namespaces = typeof ns === 'string' && ns !== '' ? [...new Set(ns.split(',').filter((s) => s !== ''))].sort() : [];
  return { values, namespaces };
}

/** A stable key for a view and its options (renders are cached by it). */
export function optionsKey(view: ViewID, o: ViewOptions): string {
  let key = view;
  for (const k of Object.keys(o.values).sort()) key += `&${k}=${o.values[k]}`;
  if (o.namespaces.length) key += `&namespace=${o.namespaces.join(',')}`;
  return key;
}

/** A view's default options (what a query naming none gets). */
export function defaultOptions(view: ViewID): ViewOptions {
  return resolveOptions(viewDescription(view), {});
}
