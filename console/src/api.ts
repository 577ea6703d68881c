// The console's one way to call Warden: same-origin fetch with the session cookie (sent by the browser,
// unreadable to scripts) and, on every state-changing call, the session's CSRF token in X-Warden-CSRF.
export interface SessionInfo {
  signed_in: boolean;
  oidc: boolean;
  saml?: boolean;
  csrf?: string;
  ended?: string;
  principal?: { id: string; kind: string; tenant: string; groups: string[]; admin: boolean; authn: string; mfa_at: string | null };
  passkeys?: number;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let csrf = '';
export function setCsrf(token: string | undefined): void {
  csrf = token ?? '';
}

export async function call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-warden-csrf'] = csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await r.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!r.ok) throw new ApiError(r.status, json?.error?.code ?? 'http_' + r.status, json?.error?.message ?? `${r.status} ${text.slice(0, 200)}`);
  return (json ?? text) as T;
}

export async function text(path: string): Promise<string> {
  const r = await fetch(path, { credentials: 'same-origin' });
  if (!r.ok) throw new ApiError(r.status, 'http_' + r.status, await r.text());
  return r.text();
}

export async function bytes(path: string): Promise<Uint8Array> {
  const r = await fetch(path, { credentials: 'same-origin' });
  if (!r.ok) {
    const t = await r.text();
    let msg = t;
    try {
      msg = JSON.parse(t).error.message;
    } catch {
      /* not JSON */
    }
    throw new ApiError(r.status, 'http_' + r.status, msg);
  }
  return new Uint8Array(await r.arrayBuffer());
}

export const session = () => call<SessionInfo>('GET', '/console/auth/session');

/** RFC 9470: a 401 insufficient_user_authentication asks for a fresh sign-in with MFA, not a different person. */
export function stepUpHint(e: unknown): string {
  if (e instanceof ApiError && e.code === 'insufficient_user_authentication') return `${e.message}. Step up (with your passkey, or by re-authenticating with your identity provider) and try again.`;
  return (e as Error).message;
}
