/** How a request's query picks a view's options (the views themselves: catalogue.ts). */
import { badRequest } from '@saas/kit/errors';
import { VIEWS, type ViewDescription, type ViewID } from './catalogue.ts';

export * from './catalogue.ts';

const BY_ID = new Map(VIEWS.map((v) => [v.id, v]));

export function isViewID(s: string): s is ViewID {
  return BY_ID.has(s as ViewID);
}

export function viewDescription(id: ViewID): ViewDescription {
  return BY_ID.get(id)!;
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
