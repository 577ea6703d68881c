import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { makeTestCa, issueServerCert, issueClientCert, type TestCa, type IssuedCert } from '../../helpers/pki.js';
import {
  principalFromPeerCertificate,
  validateMtlsOptions,
  type MtlsPrincipalOptions,
} from '../../../src/identity/mtls/peer-principal.js';
import { InvalidClientCertificate, IdentityConfigError } from '../../../src/identity/errors.js';
import { FixedClock } from '../../../src/core/clock.js';
import type { PeerCertificate } from 'node:tls';

const opts: MtlsPrincipalOptions = {
  trustDomains: ['prod.acme.example'],
  tenant: { pathSegment: 1 },
  rules: [{ idPrefix: 'spiffe://prod.acme.example/tenant/acme/agents', kind: 'agent', groups: ['agents'] }],
};

let ca: TestCa;
let otherCa: TestCa;
let server: tls.Server;
let port: number;
let handshakeFailures = 0;

before(async () => {
  ca = await makeTestCa();
  otherCa = await makeTestCa({ name: 'Some Other CA' });
  const srv = await issueServerCert(ca, ['localhost', '127.0.0.1']);
  // What the gateway's listener does: TLS 1.3 only, client certificate required and chain-checked.
  server = tls.createServer(
    { key: srv.keyPem, cert: srv.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' },
    (socket) => {
      let reply: unknown;
      try {
        reply = { principal: principalFromPeerCertificate(socket.getPeerCertificate(true), opts) };
      } catch (e) {
        reply = { rejected: e instanceof InvalidClientCertificate ? e.reason : String(e), status: (e as { status?: number }).status };
      }
      socket.end(JSON.stringify(reply));
    },
  );
  server.on('tlsClientError', () => handshakeFailures++);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  port = (server.address() as AddressInfo).port;
});

after(() => new Promise<void>((res) => server.close(() => res())));

/** Connects with the client certificate; resolves to the server's JSON reply or `{ tlsError }`. */
function call(client: IssuedCert): Promise<Record<string, unknown>> {
  return new Promise((res) => {
    const chunks: Buffer[] = [];
    const s = tls.connect({ host: '127.0.0.1', port, ca: ca.certPem, key: client.keyPem, cert: client.certPem, servername: 'localhost' });
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (e) => res({ tlsError: e.message }));
    s.on('end', () => res(chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : { tlsError: 'closed without reply' }));
  });
}

test('a valid X.509-SVID over TLS 1.3 becomes a workload principal', async () => {
  const cert = await issueClientCert(ca, { spiffeId: 'spiffe://prod.acme.example/tenant/acme/svc/billing' });
  const r = await call(cert);
  const p = r.principal as Record<string, any>;
  assert.equal(p.kind, 'service');
  assert.equal(p.id, 'spiffe://prod.acme.example/tenant/acme/svc/billing');
  assert.equal(p.tenant, 'acme');
  assert.equal(p.authn.method, 'mtls');
  assert.equal(p.authn.certFingerprint, new X509Certificate(cert.certPem).fingerprint256.replace(/:/g, '').toLowerCase());
});

test('a mapping rule turns an SVID under a prefix into an agent with groups', async () => {
  const r = await call(await issueClientCert(ca, { spiffeId: 'spiffe://prod.acme.example/tenant/acme/agents/researcher' }));
  const p = r.principal as Record<string, any>;
  assert.equal(p.kind, 'agent');
  assert.deepEqual(p.groups, ['agents']);
});

test('a certificate from another CA is refused by the TLS handshake', async () => {
  const before = handshakeFailures;
  const r = await call(await issueClientCert(otherCa, { spiffeId: 'spiffe://prod.acme.example/tenant/acme/svc/x' }));
  assert.ok(typeof r.tlsError === 'string', `expected a TLS failure, got ${JSON.stringify(r)}`);
  assert.equal(handshakeFailures, before + 1);
});

test('an expired certificate is refused by the TLS handshake', async () => {
  const hour = 3_600_000;
  const expired = await issueClientCert(ca, {
    spiffeId: 'spiffe://prod.acme.example/tenant/acme/svc/x',
    notBefore: new Date(Date.now() - 2 * hour),
    notAfter: new Date(Date.now() - hour),
  });
  const before = handshakeFailures;
  const r = await call(expired);
  assert.ok(typeof r.tlsError === 'string');
  assert.equal(handshakeFailures, before + 1);
  // And by the mapper itself, for certificates that did not come through this handshake.
  assert.throws(() => principalFromPeerCertificate(expired.der, opts), (e: unknown) => e instanceof InvalidClientCertificate && e.reason === 'certificate_expired');
});

test('a certificate without a URI SAN is not an SVID (401)', async () => {
  const r = await call(await issueClientCert(ca, { cn: 'legacy-client', dns: ['legacy.acme.example'] }));
  assert.deepEqual(r, { rejected: 'svid_no_uri_san', status: 401 });
});

test('a certificate with two URI SANs is not an SVID (401)', async () => {
  const r = await call(await issueClientCert(ca, { spiffeId: ['spiffe://prod.acme.example/tenant/acme/a', 'spiffe://prod.acme.example/tenant/acme/b'] }));
  assert.deepEqual(r, { rejected: 'svid_multiple_uri_sans', status: 401 });
});

test('an SVID from a trust domain that is not allowed is refused (401)', async () => {
  const r = await call(await issueClientCert(ca, { spiffeId: 'spiffe://staging.acme.example/tenant/acme/svc/x' }));
  assert.deepEqual(r, { rejected: 'trust_domain_not_allowed', status: 401 });
});

test('a URI SAN that is not a valid SPIFFE ID is refused (401)', async () => {
  const r = await call(await issueClientCert(ca, { spiffeId: 'spiffe://prod.acme.example/tenant/../admin' }));
  assert.deepEqual(r, { rejected: 'spiffe_id_dot_segment', status: 401 });
});

test('a CA certificate is never a workload identity', () => {
  assert.throws(() => principalFromPeerCertificate(Buffer.from(ca.cert.rawData), opts), (e: unknown) => e instanceof InvalidClientCertificate && e.reason === 'svid_is_ca');
});

test('no certificate on an optional-mTLS listener is refused', () => {
  // getPeerCertificate() returns an empty object when the client sent none.
  assert.throws(() => principalFromPeerCertificate({} as PeerCertificate, opts), (e: unknown) => e instanceof InvalidClientCertificate && e.reason === 'no_client_certificate');
});

test('a certificate that is not yet valid is refused by the mapper clock', async () => {
  const cert = await issueClientCert(ca, { spiffeId: 'spiffe://prod.acme.example/tenant/acme/svc/x' });
  const clock = new FixedClock(Date.now() - 86_400_000);
  assert.throws(() => principalFromPeerCertificate(new X509Certificate(cert.certPem), { ...opts, clock }), (e: unknown) => e instanceof InvalidClientCertificate && e.reason === 'certificate_not_yet_valid');
});

test('a certificate seen before (cached parse) is still re-checked for expiry', async () => {
  const cert = await issueClientCert(ca, { spiffeId: 'spiffe://prod.acme.example/tenant/acme/svc/cached', notAfter: new Date(Date.now() + 3_600_000) });
  const clock = new FixedClock(Date.now());
  assert.equal(principalFromPeerCertificate(cert.der, { ...opts, clock }).id, 'spiffe://prod.acme.example/tenant/acme/svc/cached');
  clock.advance(2 * 3_600_000);
  assert.throws(() => principalFromPeerCertificate(cert.der, { ...opts, clock }), (e: unknown) => e instanceof InvalidClientCertificate && e.reason === 'certificate_expired');
});

test('the tenant path segment must exist', async () => {
  const cert = await issueClientCert(ca, { spiffeId: 'spiffe://prod.acme.example/short' });
  assert.throws(() => principalFromPeerCertificate(cert.der, opts), (e: unknown) => e instanceof InvalidClientCertificate && e.reason === 'spiffe_id_no_tenant_segment');
});

test('options without a trust domain, or with an invalid one, are refused at load', () => {
  assert.throws(() => validateMtlsOptions({ ...opts, trustDomains: [] }), IdentityConfigError);
  assert.throws(() => validateMtlsOptions({ ...opts, trustDomains: ['Prod.Example:443'] }), IdentityConfigError);
  assert.throws(() => validateMtlsOptions({ ...opts, tenant: { pathSegment: -1 } }), IdentityConfigError);
  validateMtlsOptions(opts);
});
