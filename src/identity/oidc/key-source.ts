// Where an issuer's verification keys come from: its JWKS (RFC 7517), found directly or through
// OIDC Discovery (§4). jose caches keys by `kid`, refetches on an unknown `kid` at most once per
// cooldown and coalesces concurrent fetches. Any failure to obtain keys is reported as
// KeySourceUnavailable so the verifier can fail closed with 503 instead of blaming the token.
import { createRemoteJWKSet, customFetch, errors, type JWTVerifyGetKey, type FetchImplementation } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import type { ResolvedIssuerConfig } from './config.js';

export class KeySourceUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeySourceUnavailable';
  }

  /** For the operator (log, ledger): what failed and its first cause, e.g. a TLS error from the IdP. Never for a client. */
  get detail(): string {
    let root: unknown = this.cause;
    while (root instanceof Error && root.cause instanceof Error) root = root.cause;
    const why = root instanceof Error ? root.message : root === undefined ? '' : String(root);
    // Commas separate reasons in a refused.unauthenticated entry (src/gateway/refusals.ts).
    return (why ? `${this.message}: ${why}` : this.message).replace(/,/g, ';');
  }
}

export interface KeySource {
  getKey: JWTVerifyGetKey;
  close(): Promise<void>;
}

const DISCOVERY_PATH = '/.well-known/openid-configuration';

function fetcherFor(cfg: ResolvedIssuerConfig): { fetch: FetchImplementation; agent: Agent } {
  // A private IdP's CA replaces the system roots for this issuer only (never globally).
  const agent = new Agent(cfg.caPem ? { connect: { ca: cfg.caPem } } : {});
  const f: FetchImplementation = (url, init) =>
    undiciFetch(url, {
      method: init.method,
      redirect: init.redirect,
      signal: init.signal,
      headers: Object.fromEntries(init.headers.entries()),
      dispatcher: agent,
    }) as unknown as Promise<Response>;
  return { fetch: f, agent };
}

async function discoverJwksUri(cfg: ResolvedIssuerConfig, f: FetchImplementation): Promise<string> {
  const url = cfg.issuer.replace(/\/$/, '') + DISCOVERY_PATH;
  let doc: unknown;
  try {
    const res = await f(url, { headers: new Headers({ accept: 'application/json' }), method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(cfg.fetchTimeoutMs) });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    doc = await res.json();
  } catch (e) {
    throw new KeySourceUnavailable(`OIDC discovery failed for ${cfg.issuer}`, { cause: e });
  }
  const meta = doc as { issuer?: unknown; jwks_uri?: unknown };
  // OIDC Discovery §4.3: the returned issuer MUST be identical to the one used to build the URL,
  // or a compromised discovery endpoint could vouch for keys of another issuer.
  if (meta?.issuer !== cfg.issuer) throw new KeySourceUnavailable(`OIDC discovery for ${cfg.issuer} returned a different issuer`);
  if (typeof meta.jwks_uri !== 'string' || !meta.jwks_uri.startsWith('https://')) {
    throw new KeySourceUnavailable(`OIDC discovery for ${cfg.issuer} returned no https jwks_uri`);
  }
  return meta.jwks_uri;
}

export function createKeySource(cfg: ResolvedIssuerConfig): KeySource {
  const { fetch: f, agent } = fetcherFor(cfg);
  let jwks: Promise<JWTVerifyGetKey> | undefined;
  const load = async (): Promise<JWTVerifyGetKey> => {
    const uri = cfg.jwksUri ?? (await discoverJwksUri(cfg, f));
    return createRemoteJWKSet(new URL(uri), {
      timeoutDuration: cfg.fetchTimeoutMs,
      cooldownDuration: cfg.jwksCooldownMs,
      cacheMaxAge: cfg.jwksMaxAgeMs,
      [customFetch]: f,
    });
  };
  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (!jwks) {
      jwks = load();
      // A failed discovery is retried on the next token rather than cached forever.
      jwks.catch(() => (jwks = undefined));
    }
    const keySet = await jwks;
    try {
      return await keySet(header, token);
    } catch (e) {
      // These two are statements about the token (its kid), not about the key source.
      if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) throw e;
      throw new KeySourceUnavailable(`JWKS for ${cfg.issuer} could not be fetched`, { cause: e });
    }
  };
  return { getKey, close: () => agent.close() };
}
