// Identity-plane micro-benchmark: event-loop cost per request of each verifier, cold (signature
// checked) and warm (cache hit), against a bare Ed25519 verify measured in the same run.
// Run: node dist/bench/identity.js  (bounded: a few seconds on 2 cores).
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { makeTestCa, issueServerCert, issueClientCert } from '../test/helpers/pki.js';
import { OidcVerifier } from '../src/identity/oidc/verifier.js';
import { JitTokenService } from '../src/identity/jit/service.js';
import { DpopVerifier } from '../src/identity/dpop.js';
import { HttpSignatureVerifier } from '../src/identity/http-signature/verifier.js';
import { signRequest } from '../src/identity/http-signature/sign.js';
import { principalFromPeerCertificate } from '../src/identity/mtls/peer-principal.js';
import type { Principal } from '../src/core/types.js';
import { machine, writeResult } from './common.js';

const N = 2000;

async function timeIt(n: number, fn: (i: number) => unknown): Promise<number> {
  // Warm-up (V8 JIT, key caches) on indices n..n+199, so per-index inputs (nonces, tokens) stay unused.
  for (let i = n; i < n + 200; i++) await fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  return Number(process.hrtime.bigint() - t0) / 1000 / n; // µs per op
}

async function main(): Promise<void> {
  // Baseline: one raw Ed25519 verify of a 200-byte message, measured right before and after each
  // row so that each ratio compares like with like on a machine whose load changes by the second.
  const ed = generateKeyPairSync('ed25519');
  const msg = Buffer.alloc(200, 7);
  const sig = sign(null, msg, ed.privateKey);
  const baselineOnce = () => timeIt(500, () => verify(null, msg, ed.publicKey, sig));
  const rows: [string, number, number][] = [];
  const push = async (name: string, measure: () => Promise<number>): Promise<void> => {
    const before = await baselineOnce();
    const us = await measure();
    rows.push([name, us, us / ((before + (await baselineOnce())) / 2)]);
  };
  await push('baseline: raw Ed25519 verify (node:crypto)', baselineOnce);

  // OIDC against a real HTTPS JWKS.
  const ca = await makeTestCa();
  const cert = await issueServerCert(ca, ['127.0.0.1']);
  const es = await generateKeyPair('ES256');
  const rs = await generateKeyPair('RS256');
  const jwks = { keys: [{ ...(await exportJWK(es.publicKey)), kid: 'es', alg: 'ES256' }, { ...(await exportJWK(rs.publicKey)), kid: 'rs', alg: 'RS256' }] };
  const idp = https.createServer({ key: cert.keyPem, cert: cert.certPem }, (_q, r) => r.end(JSON.stringify(jwks)));
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  const base = `https://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  const oidc = new OidcVerifier({ issuers: [{ issuer: base, audience: 'warden', jwksUri: `${base}/jwks`, caPem: ca.certPem }], cacheMaxEntries: 4 * N });
  const now = Math.floor(Date.now() / 1000);
  const mk = (alg: 'ES256' | 'RS256', i: number) =>
    new SignJWT({ sub: `u${i}`, tenant: 'acme' }).setProtectedHeader({ alg, kid: alg === 'ES256' ? 'es' : 'rs' })
      .setIssuer(base).setAudience('warden').setIssuedAt(now).setExpirationTime(now + 600).sign(alg === 'ES256' ? es.privateKey : rs.privateKey);
  const esTokens = await Promise.all(Array.from({ length: N + 200 }, (_, i) => mk('ES256', i)));
  const rsTokens = await Promise.all(Array.from({ length: N + 200 }, (_, i) => mk('RS256', i)));
  await push('OIDC verify, cold (ES256, distinct tokens)', () => timeIt(N, (i) => oidc.verify(esTokens[i]!)));
  await push('OIDC verify, cold (RS256, distinct tokens)', () => timeIt(N, (i) => oidc.verify(rsTokens[i]!)));
  await push('OIDC verify, cached (same token)', () => timeIt(N * 10, () => oidc.verify(esTokens[0]!)));
  await oidc.close();
  idp.close();

  // JIT tokens.
  const jit = new JitTokenService({ issuer: 'https://warden', audience: 'https://warden', cacheMaxEntries: 4 * N });
  const alice: Principal = { kind: 'user', id: 'alice', tenant: 'acme', groups: [], authn: { method: 'api_key', credentialId: 'k' }, scope: { models: ['*'], actions: ['*'] } };
  const jitTokens: string[] = [];
  await push('JIT exchange (narrow + sign EdDSA)', () => timeIt(N, async () => { jitTokens.push((await jit.exchange({ subject: alice, requested: { actions: ['chat'] } })).access_token); }));
  await push('JIT verify, cold (distinct tokens)', () => timeIt(N, (i) => jit.verify(jitTokens[i]!)));
  await push('JIT verify, cached (+ revocation check)', () => timeIt(N * 10, () => jit.verify(jitTokens[0]!)));

  // RFC 9449 DPoP: a bound token needs a fresh proof on every request (its own signature, never cached).
  const dpop = new DpopVerifier({ clock: { now: () => Date.now() }, maxRemembered: 4 * N });
  const dk = await generateKeyPair('ES256');
  const djwk = await exportJWK(dk.publicKey);
  const boundToken = jitTokens[0]!;
  const ath = createHash('sha256').update(boundToken).digest('base64url');
  const proofs = await Promise.all(
    Array.from({ length: N + 200 }, (_, i) =>
      new SignJWT({ htm: 'POST', htu: 'https://gw.example/v1/chat/completions', iat: Math.floor(Date.now() / 1000), jti: `p-${i}-${Math.random()}`, ath })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: djwk })
        .sign(dk.privateKey),
    ),
  );
  await push('DPoP proof verify (ES256, htm/htu/ath/replay)', () => timeIt(N, (i) => dpop.verify(proofs[i]!, { method: 'POST', url: 'https://gw.example/v1/chat/completions', accessToken: boundToken })));

  // RFC 9421: every request is new (fresh nonce), so there is no cache to hit.
  const hs = new HttpSignatureVerifier({ clients: [{ keyId: 'c', publicKey: ed.publicKey, principal: { kind: 'service', id: 's', tenant: 'acme', groups: [], scope: { models: ['*'], actions: ['*'] } } }] });
  const body = Buffer.from(JSON.stringify({ model: 'llama-3', messages: [{ role: 'user', content: 'x'.repeat(400) }] }));
  const reqs = Array.from({ length: N + 200 }, () => {
    const r = { method: 'POST', targetUri: 'https://gw.example/v1/chat/completions', headers: { 'content-type': 'application/json' } as Record<string, string>, body };
    return { ...r, headers: { ...r.headers, ...signRequest(r, { keyId: 'c', privateKey: ed.privateKey, alg: 'ed25519' }) } };
  });
  await push('RFC 9421 verify (Ed25519, ~0.5 KB body, digest + nonce)', () => timeIt(N, (i) => hs.verify(reqs[i]!)));

  // mTLS: mapping an SVID (parse + SAN + SPIFFE checks) once per connection; the handshake is the TLS layer's.
  const M = 200;
  const svids = await Promise.all(Array.from({ length: M + 200 }, (_, i) => issueClientCert(ca, { spiffeId: `spiffe://prod.acme.example/tenant/acme/svc/api-${i}` })));
  const mtlsOpts = { trustDomains: ['prod.acme.example'], tenant: { pathSegment: 1 } };
  await push(`mTLS SVID → principal, first sight (${M} distinct certs)`, () => timeIt(M, (i) => principalFromPeerCertificate(svids[i]!.der, mtlsOpts)));
  await push('mTLS SVID → principal, cert seen before', () => timeIt(N * 10, () => principalFromPeerCertificate(svids[0]!.der, mtlsOpts)));

  const table = rows.map(([name, us, ratio]) => `| ${name} | ${us.toFixed(2)} | ${Math.round(1e6 / us).toLocaleString('en-US')} | ${ratio.toFixed(2)}× |`).join('\n');
  writeResult('identity', `## Identity plane (bench/identity.ts)

Machine: ${machine()}. Single event loop, sequential calls, ${N} ops per row (×10 for cached rows), after warm-up.
Ratios are against a raw Ed25519 verify measured just before and after each row (the machine is shared and its load
changes by the second, so read the ratio column, not the µs column).

| operation | µs/op | ops/s | × baseline |
|---|---:|---:|---:|
${table}

Reading: the DESIGN budget is ~30 µs of event-loop time per request for all planes. Cached OIDC and
JIT verification fit in it easily; a cold signature check (first sight of a token, or every signed
RFC 9421 request) does not, and is paid once per token (OIDC/JIT) or once per request (RFC 9421, and a
DPoP proof for a sender-constrained token: the price of a stolen token being useless).
`);
}

await main();
