// The console's API client: openapi-fetch over the types generated from the server's own OpenAPI
// document (api-types.ts, `npm run console:types`), so a request the API does not take does not
// compile. The session cookie goes along by itself; every change carries the CSRF token.
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './api-types';

export function csrfToken(): string | undefined {
  return document.cookie.split('; ').find((c) => c.startsWith('dw_csrf='))?.slice('dw_csrf='.length);
}

const csrf: Middleware = {
  onRequest({ request }) {
    const t = csrfToken();
    if (t && request.method !== 'GET' && request.method !== 'HEAD') request.headers.set('x-csrf-token', t);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: '/', credentials: 'same-origin' });
api.use(csrf);

export interface Issue {
  field: string;
  problem: string;
}

/** An error the server answered with: its sentence and, per field, what was wrong. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly issues: Issue[] = []) {
    super(message);
  }
  /** The problem with one body field ("name" for body.name), if the server named it. */
  fieldProblem(field: string): string | undefined {
    return this.issues.find((i) => i.field === `body.${field}` || i.field.startsWith(`body.${field}.`))?.problem;
  }
}

/**
 * The body of a successful answer, typed by the caller (the OpenAPI document declares request
 * shapes, not yet response shapes); throws ApiError otherwise.
 */
export async function ok<T>(call: Promise<{ data?: unknown; error?: unknown; response: Response }>): Promise<T> {
  const r = await call;
  if (!r.response.ok) {
    const e = (r.error ?? {}) as { error?: string; issues?: Issue[] };
    if (r.response.status === 401 && !location.hash.startsWith('#/sign-in')) window.dispatchEvent(new Event('dialwell:signed-out'));
    throw new ApiError(r.response.status, e.error ?? `${r.response.status} ${r.response.statusText}`, e.issues ?? []);
  }
  return r.data as T;
}

export interface Me {
  userId: string;
  name: string;
  role: 'admin' | 'supervisor' | 'agent' | 'qa';
  agentId: string | null;
  permissions: string[];
  via: 'session' | 'token';
}
