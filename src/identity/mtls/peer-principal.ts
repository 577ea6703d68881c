// Maps a verified client certificate (an X.509-SVID) to a workload Principal.
// The listener verifies the chain (requestCert + ca); this function refuses anything that is not
// a well-formed SVID from an allowed trust domain, then applies the configured mapping rules.
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Principal, PrincipalKind, Scope } from '../../core/types.js';
import { IdentityConfigError, InvalidClientCertificate } from '../errors.js';
import { parseSpiffeId, type SpiffeId } from './spiffe-id.js';
import { readSvid } from './svid.js';

export interface SpiffeMappingRule {
  /** Matches an ID equal to this, or starting with it followed by `/` (segment-aligned prefix). */
  idPrefix: string;
  kind?: PrincipalKind;
  tenant?: string;
  groups?: string[];
  scope?: Scope;
}

export type SpiffeTenantSource = { fixed: string } | { pathSegment: number };

export interface MtlsPrincipalOptions {
  /** Trust domains whose SVIDs are accepted, e.g. `['prod.acme.example']`. Required, non-empty. */
  trustDomains: string[];
  /** First matching rule wins. */
  rules?: SpiffeMappingRule[];
  /** Kind when no rule sets one; default `service`. */
  defaultKind?: PrincipalKind;
  /** Tenant when no rule sets one: a fixed name or the n-th path segment (0-based). */
  tenant: SpiffeTenantSource;
  /** Scope when no rule sets one; default any model, any action (policy still decides). */
  scope?: Scope;
  clock?: Clock;
}

export type PeerCertificateInput = PeerCertificate | X509Certificate | Uint8Array;

const ANY_SCOPE: Scope = { models: ['*'], actions: ['*'] };

function derOf(cert: PeerCertificateInput): Uint8Array {
  if (cert instanceof X509Certificate) return cert.raw;
  if (cert instanceof Uint8Array) return cert;
  // getPeerCertificate() returns `{}` when the client sent no certificate.
  if (!cert || !(cert.raw instanceof Uint8Array) || cert.raw.length === 0) {
    throw new InvalidClientCertificate('no_client_certificate');
  }
  return cert.raw;
}

function matches(rule: SpiffeMappingRule, id: string): boolean {
  return id === rule.idPrefix || id.startsWith(rule.idPrefix.endsWith('/') ? rule.idPrefix : rule.idPrefix + '/');
}

function tenantOf(source: SpiffeTenantSource, spiffe: SpiffeId): string {
  if ('fixed' in source) return source.fixed;
  const seg = spiffe.segments[source.pathSegment];
  if (seg === undefined) throw new InvalidClientCertificate('spiffe_id_no_tenant_segment');
  return seg;
}

export function validateMtlsOptions(opts: MtlsPrincipalOptions): void {
  if (!Array.isArray(opts.trustDomains) || opts.trustDomains.length === 0) {
    throw new IdentityConfigError('mtls: trustDomains must list at least one trust domain');
  }
  for (const td of opts.trustDomains) parseSpiffeIdOrConfigError(`spiffe://${td}`);
  for (const r of opts.rules ?? []) parseSpiffeIdOrConfigError(r.idPrefix.replace(/\/$/, ''));
  if ('pathSegment' in opts.tenant && !(Number.isInteger(opts.tenant.pathSegment) && opts.tenant.pathSegment >= 0)) {
    throw new IdentityConfigError('mtls: tenant.pathSegment must be a non-negative integer');
  }
}

function parseSpiffeIdOrConfigError(id: string): void {
  try {
    parseSpiffeId(id);
  } catch {
    throw new IdentityConfigError(`mtls: ${JSON.stringify(id)} is not a valid SPIFFE ID or trust domain`);
  }
}

export function principalFromPeerCertificate(cert: PeerCertificateInput, opts: MtlsPrincipalOptions): Principal {
  const der = derOf(cert);
  const svid = readSvid(der, opts.clock ?? systemClock);
  const spiffe = parseSpiffeId(svid.uri);
  if (!opts.trustDomains.includes(spiffe.trustDomain)) throw new InvalidClientCertificate('trust_domain_not_allowed');
  const rule = opts.rules?.find((r) => matches(r, spiffe.id));
  return {
    kind: rule?.kind ?? opts.defaultKind ?? 'service',
    id: spiffe.id,
    tenant: rule?.tenant ?? tenantOf(opts.tenant, spiffe),
    groups: rule?.groups ?? [],
    authn: { method: 'mtls', credentialId: svid.fingerprint, certFingerprint: svid.fingerprint },
    scope: rule?.scope ?? opts.scope ?? ANY_SCOPE,
  };
}
