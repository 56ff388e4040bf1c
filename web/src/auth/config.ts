// How this server wants the console to sign in (GET /console/config.json).
export type ConsoleConfig =
  | { signIn: 'dev' }
  | { signIn: 'oidc'; issuer: string; clientId: string }
  | { signIn: 'none' };

let cached: Promise<ConsoleConfig> | null = null;

export function consoleConfig(): Promise<ConsoleConfig> {
  cached ??= fetch('/console/config.json', { cache: 'no-cache' })
    .then((r) => (r.ok ? (r.json() as Promise<ConsoleConfig>) : { signIn: 'none' as const }))
    .catch((e: unknown) => {
      cached = null;
      throw e;
    });
  return cached;
}
