// The console's only way to data: the /v1 API with the signed-in key as a Bearer token,
// so the API's authentication, roles, rate limits and tenant isolation apply as they do
// to any integrator. The key lives in sessionStorage: gone when the tab closes.

const storageKey = 'kickcall.console.session';

/** @typedef {{ key: string, role: 'viewer' | 'operator' | 'admin', keyName: string, tenantId: string, tenantName: string }} Session */

/** An answer that is not 2xx, with the API's problem detail when it sent one. */
export class ApiError extends Error {
  name = 'ApiError';

  /** @param {number} status @param {{ title?: string, detail?: string, type?: string } | undefined} problem @param {string} path */
  constructor(status, problem, path) {
    super(problem?.detail ?? problem?.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.path = path;
  }

  /** Whether the key itself was refused (missing, unknown, revoked). */
  get unauthenticated() {
    return this.status === 401;
  }
}

/** @returns {Session | null} */
export function currentSession() {
  try {
    const raw = sessionStorage.getItem(storageKey);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

export function endSession() {
  sessionStorage.removeItem(storageKey);
}

/**
 * Sends one request. `key` overrides the session's (sign-in tries a key before keeping it).
 * @param {string} path @param {{ method?: string, body?: unknown, key?: string, signal?: AbortSignal }} [opts]
 */
export async function api(path, opts = {}) {
  const key = opts.key ?? currentSession()?.key;
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: opts.method ?? 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: opts.signal, cache: 'no-store' });
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) throw new ApiError(res.status, body, path);
  return body;
}

/**
 * Checks a key by reading itself and its tenant; keeps it for the tab's session.
 * @param {string} key @returns {Promise<Session>}
 */
export async function signIn(key) {
  const self = await api('/v1/api-keys/current', { key });
  const tenant = await api('/v1/tenant', { key });
  const session = { key, role: self.role, keyName: self.name, tenantId: tenant.id, tenantName: tenant.name };
  sessionStorage.setItem(storageKey, JSON.stringify(session));
  return session;
}

/** Whether the session's role may do what needs `role` (viewer < operator < admin). */
export function allows(session, role) {
  const rank = { viewer: 0, operator: 1, admin: 2 };
  return session !== null && rank[session.role] >= rank[role];
}

/** Query string from the defined entries of `params`. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The Temporal UI's page of a workflow. */
export function temporalWorkflowUrl(config, workflowId) {
  return `${config.temporalUiUrl}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
