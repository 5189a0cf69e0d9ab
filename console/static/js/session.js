// The signed-in user's session token and what it allows.
//
// The token lives in this module's memory and in sessionStorage, never in
// localStorage, a cookie or a URL: sessionStorage belongs to this one tab and
// is gone when the tab closes, so a reload keeps the user signed in while a
// token never outlives the tab (and a server-side 24 h expiry bounds it
// anyway). The console's Content-Security-Policy allows only its own scripts
// and every API text is rendered as text, which is what keeps a script from
// reading it in the first place. Signing out forgets it at once.

const STORAGE_KEY = 'gatehouse.session';

let token = null;
try { token = sessionStorage.getItem(STORAGE_KEY); } catch { token = null; }

let me = null;
let entitlements = null;
const listeners = new Set();

export function getToken() { return token; }

export function setToken(value) {
  token = value;
  me = null;
  entitlements = null;
  try {
    if (value) sessionStorage.setItem(STORAGE_KEY, value);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch { /* private mode: memory only */ }
}

export function signedIn() { return Boolean(token); }

/** Who is signed in: `{user, org, role, permissions}` (after load()). */
export function current() { return me; }

/** The org's plan, entitlements and limits (after load()). */
export function plan() { return entitlements; }

export function setProfile(profile, ents) {
  me = profile;
  entitlements = ents;
  for (const fn of listeners) fn();
}

/** Whether the signed-in member's role holds `permission` ("keys:write"). */
export function can(permission) {
  return Boolean(me && me.permissions && me.permissions.includes(permission));
}

/** Whether the org's plan has `feature` ("audit_log"). */
export function entitled(feature) {
  return Boolean(entitlements && entitlements.entitlements && entitlements.entitlements[feature]);
}

export function onChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }

export function signOut() {
  setToken(null);
  for (const fn of listeners) fn();
}
