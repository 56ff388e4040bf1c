// Production sign-in: OpenID Connect authorization code with PKCE
// (oidc-client-ts) against the configured issuer, as the console's public
// client. The user (tokens) is kept in sessionStorage, for the same reasons
// as the dev session (see session.ts); renewal is silent (refresh token, or
// a hidden frame on /ingresar/renovar).
import { UserManager, WebStorageStateStore } from 'oidc-client-ts';
import { consoleConfig } from './config';
import { setSession } from './session';

let manager: UserManager | null = null;

async function userManager(): Promise<UserManager | null> {
  if (manager) return manager;
  const cfg = await consoleConfig();
  if (cfg.signIn !== 'oidc') return null;
  manager = new UserManager({
    authority: cfg.issuer,
    client_id: cfg.clientId,
    redirect_uri: `${location.origin}/ingresar/retorno`,
    silent_redirect_uri: `${location.origin}/ingresar/renovar`,
    post_logout_redirect_uri: `${location.origin}/ingresar`,
    response_type: 'code',
    scope: 'openid profile email',
    automaticSilentRenew: true,
    userStore: new WebStorageStateStore({ store: sessionStorage }),
    stateStore: new WebStorageStateStore({ store: sessionStorage }),
  });
  manager.events.addUserLoaded((u) => {
    if (u.access_token && u.expires_at) setSession({ token: u.access_token, expiresAt: new Date(u.expires_at * 1000).toISOString() });
  });
  return manager;
}

export async function oidcSignIn(): Promise<void> {
  const m = await userManager();
  await m?.signinRedirect();
}

/** oidcCallback completes the redirect back from the issuer. */
export async function oidcCallback(): Promise<void> {
  const m = await userManager();
  if (!m) return;
  const u = await m.signinRedirectCallback();
  if (u.expires_at) setSession({ token: u.access_token, expiresAt: new Date(u.expires_at * 1000).toISOString() });
}

export async function oidcSilentCallback(): Promise<void> {
  const m = await userManager();
  await m?.signinSilentCallback();
}

export async function oidcSignOut(): Promise<void> {
  if (!manager) return;
  await manager.removeUser();
  await manager.signoutRedirect().catch(() => undefined);
}
