// What an ext_authz check answers, the same for the gRPC and the HTTP variant: on allow, headers for the
// upstream request (who was decided on) and for the client (the receipt), and the credentials to strip; on a
// refusal, the status, the JSON error body of the inference listener and `warden-deny-reason`.
import type { PeerCertificate } from 'node:tls';
import type { CheckOutcome } from '../external-check.js';

/** Credentials the mesh removes before the request goes upstream: a model server has no use for them. */
export const HEADERS_TO_REMOVE = ['authorization', 'dpop', 'signature', 'signature-input'] as const;

export interface Allowed {
  /** Set on the upstream request (overwriting whatever the client sent under these names). */
  upstream: Record<string, string>;
  /** Added to the response the client receives. */
  client: Record<string, string>;
}

export interface Denied {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function allowed(o: Extract<CheckOutcome, { allow: true }>): Allowed {
  return {
    upstream: { 'warden-request-id': o.requestId, 'warden-principal': `${o.principal.kind}:${o.principal.id}`, 'warden-tenant': o.principal.tenant },
    client: { 'warden-request-id': o.requestId, ...(o.receipt !== undefined ? { 'warden-receipt': o.receipt } : {}) },
  };
}

export function denied(o: Extract<CheckOutcome, { allow: false }>): Denied {
  const e = o.error;
  return {
    status: e.status,
    headers: { ...e.headers, 'content-type': 'application/json', 'warden-request-id': o.requestId, 'warden-deny-reason': e.code },
    body: JSON.stringify(e.toBody(o.requestId)),
  };
}

/**
 * Whether the mesh proxy that called may ask for checks: its certificate verified against extAuthz.clientCaFile
 * (the TLS layer did that) and, when allowedClients is set, one of its URI or DNS names is listed.
 */
export function clientAllowed(cert: PeerCertificate | undefined, allowedClients: readonly string[]): boolean {
  if (!cert || Object.keys(cert).length === 0) return false;
  if (allowedClients.length === 0) return true;
  const names = (cert.subjectaltname ?? '').split(', ').flatMap((n) => {
    const m = /^(URI|DNS):(.+)$/.exec(n);
    return m ? [m[2]!] : [];
  });
  return names.some((n) => allowedClients.includes(n));
}
