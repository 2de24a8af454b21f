import { badRequest } from '@saas/kit';

// The WHATWG rule for <input type="email">, so the sign-up form and the service agree on what an address is.
const EMAIL = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Trims and lowercases an address, or throws a 400 saying what is wrong with it. */
export function normaliseEmail(value: unknown, field = 'email'): string {
  if (value === undefined || value === null || value === '') throw badRequest(`${field} is required`);
  if (typeof value !== 'string') throw badRequest(`${field} must be a string`);
  const email = value.trim().toLowerCase();
  if (email === '') throw badRequest(`${field} is required`);
  if (email.length > 254) throw badRequest(`${field} is too long (at most 254 characters)`);
  if (!EMAIL.test(email)) throw badRequest(`${field} is not a valid email address: ${JSON.stringify(value.trim().slice(0, 100))}`);
  return email;
}

/** The request body as an object, or a 400. */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) throw badRequest('a JSON body like {"email": "you@example.com"} is required');
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body must be a JSON object like {"email": "you@example.com"}');
  return body as Record<string, unknown>;
}

/** One query-string parameter as a string, or a 400. */
export function queryString(query: unknown, name: string): string | undefined {
  const value = (query as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`${name} must be given once`);
  return value;
}
