// The console's only way to the server: the public management API.

import { getToken } from './session.js';

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** The body field the message names ("field 'name': …"), if any. */
  get field() {
    const m = /^field '([^'[\]]+)/.exec(this.message || '');
    return m ? m[1] : null;
  }
}

let onUnauthorized = () => {};
/** Called when a signed-in request is refused as unauthorized. */
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

function queryString(query) {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** Calls the API; resolves to the parsed JSON, rejects with ApiError. */
export async function api(method, path, { body, query, token, anonymous = false } = {}) {
  const headers = { Accept: 'application/json' };
  const bearer = anonymous ? null : token || getToken();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path + queryString(query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
      redirect: 'error',
    });
  } catch {
    throw new ApiError(0, 'network', 'Gatehouse did not answer. Check the connection and try again.');
  }
  const text = await res.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!res.ok) {
    const code = (json && json.error_code) || `http_${res.status}`;
    const message = (json && json.message) || `The server answered ${res.status}.`;
    const retry = Number(res.headers.get('Retry-After')) || null;
    const err = new ApiError(res.status, code, message, retry);
    if (res.status === 401 && bearer && !token && (code === 'unauthorized')) onUnauthorized(err);
    if (res.status === 403 && code === 'user_suspended' && bearer && !token) onUnauthorized(err);
    throw err;
  }
  return json;
}

export const get = (path, query) => api('GET', path, { query });
export const post = (path, body) => api('POST', path, { body: body === undefined ? {} : body });
export const put = (path, body) => api('PUT', path, { body });
export const del = (path) => api('DELETE', path);

/** Loads the signed-in member and the org's plan. */
export async function loadProfile() {
  const [me, ents] = await Promise.all([
    get('/api/v1/auth/me'),
    get('/api/v1/auth/entitlements'),
  ]);
  return { me, ents };
}
