// The signed-in session: the bearer token and nothing else.
//
// It lives in sessionStorage, never localStorage: that survives a reload of
// the same tab (a person at a border post who reloads is not signed out in
// the middle of a complaint), dies with the tab, is not shared with other
// tabs, and is erased by signOut. Nothing about a case or a child is ever
// kept there.
const KEY = 'amparo.session';

export type Session = { token: string; expiresAt: string };

type Listener = (s: Session | null) => void;
const listeners = new Set<Listener>();

export function getSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    if (!s.token || Date.parse(s.expiresAt) <= Date.now()) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return s;
  } catch {
    sessionStorage.removeItem(KEY);
    return null;
  }
}

export function setSession(s: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(s));
  listeners.forEach((l) => l(s));
}

export function clearSession(): void {
  sessionStorage.clear();
  listeners.forEach((l) => l(null));
}

export function onSession(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

const ME = 'amparo.me';

/**
 * rememberMe keeps the signed-in person's own profile (id, name, roles and
 * permissions: nothing of any case) beside the token, so that a reload
 * without a connection still opens the intake form.
 */
export function rememberMe(me: unknown): void {
  sessionStorage.setItem(ME, JSON.stringify(me));
}

export function rememberedMe<T>(): T | null {
  const raw = sessionStorage.getItem(ME);
  return raw ? (JSON.parse(raw) as T) : null;
}
