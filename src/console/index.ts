// The console, built from config: the session store, the OIDC client (console.oidc), the cookie
// authenticator the admin API uses, and the /console/ handler.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WardenConfig } from '../config/config.js';
import type { AuditSink } from '../core/audit-sink.js';
import type { Clock } from '../core/clock.js';
import type { Principal } from '../core/types.js';
import { StartupRefused } from '../core/errors.js';
import type { CredentialVerifiers } from '../identity/verifiers.js';
import { loadIssuerCaFile } from '../identity/oidc/ca-file.js';
import type { ConsoleSessionStore } from '../store/console-sessions-store.js';
import type { IdentityStore } from '../store/identity-store.js';
import { createConsoleHandler } from './handler.js';
import { OidcClient } from './oidc-client.js';
import { PendingSignIns } from './pending-sign-ins.js';
import { Passkeys } from './passkeys.js';
import { loadSamlIdpCerts, SamlClient } from './saml-client.js';
import { createSessionAuthenticator } from './session-auth.js';
import { SessionStore } from './sessions.js';

export interface ConsoleUi {
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  session: (req: IncomingMessage) => Promise<Principal | null>;
  sessions: SessionStore;
  close(): void;
}

/**
 * Where the console may be opened: the public origin, the bound URL, and for a loopback listener both
 * loopback names (the dev certificate covers both; passkeys need the host name `localhost`).
 */
export function consoleOrigins(adminOrigin: string, adminUrl: string): string[] {
  const out = [adminOrigin, adminUrl];
  const u = new URL(adminUrl);
  if (['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) out.push(`https://localhost:${u.port}`, `https://127.0.0.1:${u.port}`);
  return [...new Set(out.map((o) => new URL(o).origin))];
}

export async function createConsole(
  config: WardenConfig,
  d: { clock: Clock; audit: AuditSink; store: IdentityStore; sessionStore: ConsoleSessionStore; verifiers: CredentialVerifiers; adminOrigin: string; adminUrl: string; assetDir?: string },
): Promise<ConsoleUi> {
  const c = config.console;
  const sessions = new SessionStore(d.sessionStore, d.clock, c.idleTimeoutSec * 1000, c.absoluteTimeoutSec * 1000);
  const pending = new PendingSignIns(d.sessionStore, () => d.clock.now());
  const oidcIssuers = config.oidc.issuers.map((i) => i.issuer);
  let oidc: OidcClient | null = null;
  if (c.oidc) {
    const issuer = config.oidc.issuers.find((i) => i.issuer === c.oidc!.issuer);
    if (!issuer || !d.verifiers.oidc) throw new StartupRefused('config', `console.oidc.issuer ${c.oidc.issuer} must be one of oidc.issuers (its access tokens are verified there)`);
    const secret = c.oidc.clientSecretEnv ? process.env[c.oidc.clientSecretEnv] : undefined;
    if (c.oidc.clientSecretEnv && !secret) throw new StartupRefused('config', `console.oidc.clientSecretEnv names ${c.oidc.clientSecretEnv}, which is not set`);
    oidc = new OidcClient(
      {
        issuer: c.oidc.issuer,
        clientId: c.oidc.clientId,
        clientSecret: secret,
        scopes: c.oidc.scopes,
        caPem: (issuer as { caPem?: string }).caPem ?? (issuer.caFile ? loadIssuerCaFile(issuer.issuer, issuer.caFile) : undefined),
      },
      pending,
    );
  }
  const saml = c.saml
    ? new SamlClient(
        {
          entryPoint: c.saml.entryPoint,
          idpIssuer: c.saml.idpIssuer,
          idpCertPems: loadSamlIdpCerts(c.saml.idpCertFile),
          spEntityId: c.saml.spEntityId,
          logoutUrl: c.saml.logoutUrl ?? null,
          principalAttribute: c.saml.principalAttribute ?? null,
          mfaAuthnContexts: c.saml.mfaAuthnContexts,
          clockSkewMs: c.saml.clockSkewSec * 1000,
        },
        pending,
      )
    : null;
  const verifyOidc = d.verifiers.oidc;
  const auth = { sessions, store: d.store, apiKey: (k: string) => d.verifiers.apiKey(k), origins: consoleOrigins(d.adminOrigin, d.adminUrl), oidcIssuers };
  return {
    handler: createConsoleHandler({
      ...auth,
      clock: d.clock,
      audit: d.audit,
      oidc,
      saml,
      passkeys: new Passkeys(d.store, () => d.clock.now()),
      oidcToken: (t) => (verifyOidc ? verifyOidc(t) : Promise.reject(new Error('no OIDC verifier'))),
      ...(d.assetDir ? { assetDir: d.assetDir } : {}),
    }),
    session: createSessionAuthenticator(auth),
    sessions,
    close: () => oidc?.close(),
  };
}
