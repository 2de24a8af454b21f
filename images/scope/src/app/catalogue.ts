/**
 * The app's views, as Weave Scope 1.13's topology registry describes them (app/api_topologies.go): their ids,
 * names, sub-topologies and per-view filter options. Data only (the map page reads it too); what a view's
 * nodes are is sources.ts's business, how a query picks options topologies.ts's.
 */

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

/** The namespace filter of the Kubernetes views, its options the report's namespaces (all shown by default). */
export function namespaceOptions(namespaces: string[]): OptionGroup {
  return { id: 'namespace', defaultValue: '', selectType: 'union', noneLabel: 'All Namespaces', options: namespaces.map((ns) => ({ value: ns, label: ns })) };
}

/** The view a view's options are shared with: its parent's family (containers by image share the containers' options). */
export function familyOf(id: string): string {
  return VIEWS.find((v) => v.id === id)?.parent ?? id;
}
