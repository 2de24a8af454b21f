/**
 * The JSON request body parser every service shares. An empty body is no body (a `fetch` POST with a JSON
 * Content-Type and nothing in it is fine); text that is not JSON is a 400 that says where it breaks; JSON that
 * would poison a prototype (`__proto__`, `constructor.prototype`) is a 400 that says so, not "not valid JSON".
 */
import { badRequest } from './errors.ts';

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  let poisoned: string | undefined;
  let value: unknown;
  try {
    value = JSON.parse(text, function (this: unknown, key: string, v: unknown) {
      if (key === '__proto__') poisoned ??= '__proto__';
      else if (key === 'constructor' && v !== null && typeof v === 'object' && Object.hasOwn(v, 'prototype')) poisoned ??= 'constructor.prototype';
      return v;
    });
  } catch (err) {
    throw badRequest(`malformed JSON body: ${(err as Error).message}`);
  }
  if (poisoned) throw badRequest(`the JSON body may not use the key ${poisoned} (it could change how objects behave)`);
  return value;
}
