// Issue 6 end to end, through the real gateway (TLS listeners, warden.db, ledger) and FAKE external model
// servers: a model signed with the real OpenSSF model-signing vector is registered, verified on the gateway
// host, promoted by a PDP-authorized model admin and routed to; a one-byte tamper, a wrong served digest, a
// quarantine (admin API and `warden model` CLI) and bad, stale or missing attestation evidence each stop the
// traffic, and every refusal is a ledger entry.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { issueServerCert, makeTestCa } from '../helpers/pki.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { runWarden } from '../helpers/proc.js';
import { testdata } from '../helpers/testdata.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';
import { createNitroPki, forgeNitroDocument, pcrValues, type NitroPki } from './attestation/nitro-forge.js';
import { verifyReceipt } from '../../src/ledger/receipt.js';

const MAIN = new URL('../../src/cli/main.js', import.meta.url).href;
const RUNNER = `const { run } = await import(${JSON.stringify(MAIN)}); process.exitCode = await run(process.argv.slice(1));`;

const VECTOR = testdata('crypto_vectors/model_signing/v1.0.0-certificate');
const SIGNER_PUB = testdata('crypto_vectors/model_signing/keys/certificate/signing-key-pub.pem');
const tmp = mkdtempSync(join(tmpdir(), 'warden-wroute-'));
const PCRS = pcrValues(0x21);

type Evidence = 'honest' | 'wrong-pcr' | 'stale' | 'missing';
const state = { digest: '', evidence: 'honest' as Evidence };
let pki: NitroPki;
let plain: FakeUpstream;
let enclave: FakeUpstream;
let hooks: FakeUpstream;

async function waitFor(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
let t: TestWarden;
let admin: string;
let alice: string;
let idp: Server;
let mfaToken: (sub: string, authTimeSec?: number) => Promise<string>;

function copyModel(name: string): string {
  const dir = join(tmp, name);
  cpSync(VECTOR, dir, { recursive: true });
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
  return dir;
}

/** A FAKE OpenAI-compatible server that reports `state.digest` and, for the enclave, answers attestation challenges. */
function modelServer(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/.well-known/warden/attestation') {
    if (state.evidence === 'missing') return void res.writeHead(404).end();
    const nonce = Buffer.from(url.searchParams.get('nonce') ?? '', 'hex');
    const pcrs = state.evidence === 'wrong-pcr' ? { ...PCRS, 0: Buffer.alloc(48, 0xaa) } : PCRS;
    const timestamp = state.evidence === 'stale' ? Date.now() - 10 * 60_000 : Date.now();
    void forgeNitroDocument(pki, { timestamp, pcrs, nonce }).then((doc) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'nitro', document: doc.toString('base64') }));
    });
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json', 'x-model-artifact-digest': state.digest });
  res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'from the pinned model' } }], usage: { total_tokens: 3 } }));
}

const chat = (model: string) => t.call('inference', 'POST', '/v1/chat/completions', { key: alice, body: { model, messages: [{ role: 'user', content: 'hello' }] } });
// The model admin's calls carry a fresh MFA step-up token (the starter set wants MFA < 15 min for admin actions).
const asAdmin = async (method: string, path: string, body?: unknown, key = admin, headers: Record<string, string> = {}) =>
  t.call('admin', method, path, { key, headers: key === admin && !('warden-mfa-token' in headers) ? { ...headers, 'warden-mfa-token': await mfaToken('mia') } : headers, ...(body !== undefined ? { body } : {}) });
const withoutMfa = (method: string, path: string, body?: unknown) => t.call('admin', method, path, { key: admin, ...(body !== undefined ? { body } : {}) });
const promote = async (id: string) => asAdmin('POST', `/admin/v1/models/${id}/promote`, undefined, admin, { 'warden-mfa-token': await mfaToken('mia') });
const bundle = () => JSON.parse(readFileSync(join(VECTOR, 'model.sig'), 'utf8')) as unknown;
const audits = (pred: (e: Record<string, any>) => boolean) => t.audits().filter(pred) as Record<string, any>[];

async function register(model: string, version: string, upstream: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await asAdmin('POST', '/admin/v1/models', { model, version, upstream, tier: 'onprem', region: 'eu-west-1', tenant: 'acme', signatureBundle: bundle(), ...extra });
  assert.equal(r.status, 201, r.text);
  return r.json.id as string;
}

async function verifyAndPromote(id: string, dir: string): Promise<void> {
  const v = await asAdmin('POST', `/admin/v1/models/${id}/verify`, { path: dir });
  assert.equal(v.status, 200, v.text);
  const p = await promote(id);
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.state, 'promoted');
}

before(async () => {
  pki = await createNitroPki(Date.now());
  writeFileSync(join(tmp, 'nitro-root.pem'), pki.rootPem);
  // The model admin's identity provider (OIDC), used only for the MFA step-up that promotion needs.
  const ca = await makeTestCa();
  const tls = await issueServerCert(ca, ['127.0.0.1']);
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  idp = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', () => r()));
  const issuer = `https://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  mfaToken = (sub, authTimeSec) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ aud: 'warden', amr: ['pwd', 'mfa'], auth_time: authTimeSec ?? now }).setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' }).setIssuer(issuer).setSubject(sub).setIssuedAt(now).setExpirationTime(now + 300).sign(privateKey);
  };
  plain = await startFakeUpstream((req, res) => modelServer(req, res));
  enclave = await startFakeUpstream((req, res) => modelServer(req, res));
  // The operator's incident channel (a FAKE webhook receiver): a playbook notifies it of failed attestations.
  hooks = await startFakeUpstream((_req, res) => void res.writeHead(204).end());
  t = await startTestWarden((c) => {
    c.monitor.playbooks = [{ name: 'tee-failed', when: { attestation: true }, steps: [{ do: 'webhook', url: `${hooks.url}/incident` }] }];
    c.workload.trustedSigners = [SIGNER_PUB];
    c.workload.refreshIntervalMs = 100;
    c.workload.attestation.nitroRoots = [join(tmp, 'nitro-root.pem')];
    c.oidc.issuers = [{ issuer, audience: 'warden', jwksUri: `${issuer}/jwks`, caPem: ca.certPem, claims: { tenant: { fixed: 'acme' } }, scope: { models: [], actions: [] } } as never];
  });
  // The starter set (model admins promote, with MFA < 15 min, on the admin listener) plus: anyone may chat,
  // and one model is obliged to run in us-east-1.
  const starter = join(process.cwd(), 'policies/starter');
  await t.admin('POST', '/admin/v1/policies', {
    text: [
      ...readdirSync(starter).filter((f) => f.endsWith('.cedar')).map((f) => readFileSync(join(starter, f), 'utf8')),
      '@id("test-chat")\npermit (principal, action == Action::"chat", resource);',
      '@id("test-placed-in-us")\n@obligation("route:region=us-east-1")\npermit (principal, action == Action::"chat", resource == Model::"placed");',
    ].join('\n'),
  });
  await t.admin('POST', '/admin/v1/principals', { id: 'mia', tenant: 'acme', groups: ['model-admins'], admin: true });
  admin = (await t.admin('POST', '/admin/v1/keys', { principal: 'mia', models: ['*'], actions: ['*'] })).key;
  alice = (await t.keyFor('alice', ['*'], ['chat'])).key;
});

after(async () => {
  await t?.stop();
  await plain?.close();
  await enclave?.close();
  await hooks?.close();
  idp?.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('a model the registry does not know still goes to the configured upstreams', async () => {
  const r = await chat('demo-chat');
  assert.equal(r.status, 200, r.text);
});

test('signed → registered (no traffic) → verified → promoted by a model admin → routed, pinned digest checked', async () => {
  const dir = copyModel('tiny-1');
  const id = await register('tiny', '1', plain.url);
  const before = await chat('tiny');
  assert.equal(before.status, 503);
  assert.equal(before.json.error.code, 'no_promoted_deployment');

  const early = await asAdmin('POST', `/admin/v1/models/${id}/promote`);
  assert.equal(early.status, 409);
  assert.equal(early.json.error.code, 'invalid_transition');

  const v = await asAdmin('POST', `/admin/v1/models/${id}/verify`, { path: dir });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.state, 'verified');
  state.digest = v.json.artifactDigest;

  // The bootstrap admin is not a model admin: the PDP refuses promoteModel.
  const denied = await asAdmin('POST', `/admin/v1/models/${id}/promote`, undefined, t.adminKey);
  assert.equal(denied.status, 403);
  assert.equal(denied.json.error.code, 'promotion_denied');

  // The model admin without the MFA step-up: the starter policy refuses; with a stale MFA too; with fresh MFA it passes.
  const noMfa = await withoutMfa('POST', `/admin/v1/models/${id}/promote`);
  assert.equal(noMfa.status, 403);
  assert.equal(noMfa.json.error.code, 'promotion_denied');
  const staleMfa = await asAdmin('POST', `/admin/v1/models/${id}/promote`, undefined, admin, { 'warden-mfa-token': await mfaToken('mia', Math.floor(Date.now() / 1000) - 3600) });
  assert.equal(staleMfa.status, 403);
  const someoneElse = await asAdmin('POST', `/admin/v1/models/${id}/promote`, undefined, admin, { 'warden-mfa-token': await mfaToken('mallory') });
  assert.equal(someoneElse.status, 403);
  assert.equal(someoneElse.json.error.code, 'step_up_mismatch');
  const p = await promote(id);
  assert.equal(p.status, 200, p.text);
  const r = await chat('tiny');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.choices[0].message.content, 'from the pinned model');
  assert.equal(plain.requests.at(-1)!.path, '/v1/chat/completions');
  const served = audits((e) => e.kind === 'inference' && e.decision === 'allow' && e.deployment?.id === id);
  assert.equal(served.length, 1);
  assert.equal(served[0]!.deployment.artifactDigest, state.digest);

  assert.ok(audits((e) => e.action === 'model.promote' && e.decision === 'deny' && e.errorCode === 'invalid_transition').length >= 1);
  assert.ok(audits((e) => e.action === 'model.promote' && e.deployment?.id === id && e.errorCode === 'promotion_denied').length === 3);
  // The listener checks the step-up token before the registry sees the request.
  assert.equal(audits((e) => e.action === `POST /admin/v1/models/${id}/promote` && e.decision === 'deny' && e.errorCode === 'step_up_mismatch').length, 1);
  assert.ok(audits((e) => e.kind === 'inference' && e.errorCode === 'no_promoted_deployment').length >= 1);

  const shown = await asAdmin('GET', `/admin/v1/models/${id}`);
  assert.equal(shown.json.state, 'promoted');
  const listed = await asAdmin('GET', '/admin/v1/models?model=tiny&state=promoted');
  assert.deepEqual(listed.json.data.map((x: { id: string }) => x.id), [id]);

  // Quarantine through the admin API is effective on the very next request.
  const q = await asAdmin('POST', `/admin/v1/models/${id}/quarantine`, { reason: 'suspected backdoor' });
  assert.equal(q.status, 200, q.text);
  const after = await chat('tiny');
  assert.equal(after.status, 503);
  assert.equal(after.json.error.code, 'no_promoted_deployment');
});

test('one changed byte: verification names the file, promotion and routing refuse it, all in the ledger', async () => {
  const dir = copyModel('tampered');
  const f = join(dir, 'signme-1');
  const bytes = readFileSync(f);
  bytes[0] = bytes[0]! ^ 1;
  writeFileSync(f, bytes);
  const id = await register('tampered', '1', plain.url);
  const v = await asAdmin('POST', `/admin/v1/models/${id}/verify`, { path: dir });
  assert.equal(v.status, 403);
  assert.equal(v.json.error.code, 'model_manifest_mismatch');
  assert.match(v.json.error.message, /changed: signme-1/);
  const p = await promote(id);
  assert.equal(p.status, 409);
  const r = await chat('tampered');
  assert.equal(r.status, 503);
  assert.equal(r.json.error.code, 'no_promoted_deployment');
  const refused = audits((e) => e.deployment?.id === id && e.decision !== 'allow').map((e) => `${e.action}:${e.errorCode}`);
  assert.deepEqual(refused, ['model.verify:model_manifest_mismatch', 'model.promote:invalid_transition']);
  assert.ok(audits((e) => e.kind === 'inference' && e.resource?.id === 'tampered' && e.errorCode === 'no_promoted_deployment').length === 1);
});

test('a signature by an untrusted key is refused at verification', async () => {
  const dir = copyModel('foreign');
  const foreign = JSON.parse(readFileSync(testdata('crypto_vectors/model_signing/v1.0.0-sigstore/model.sig'), 'utf8')) as unknown;
  const id = await register('foreign', '1', plain.url, { signatureBundle: foreign });
  const v = await asAdmin('POST', `/admin/v1/models/${id}/verify`, { path: dir });
  assert.equal(v.status, 403);
  assert.equal(v.json.error.code, 'untrusted_signer');
  assert.ok(audits((e) => e.action === 'model.verify' && e.deployment?.id === id && e.errorCode === 'untrusted_signer').length === 1);
});

test('an upstream reporting another artifact digest is quarantined and its answer withheld', async () => {
  const id = await register('tiny', '2', plain.url);
  await verifyAndPromote(id, copyModel('tiny-2'));
  assert.equal((await chat('tiny')).status, 200);
  const pinned = state.digest;
  state.digest = 'sha256:' + 'ab'.repeat(32);
  try {
    const r = await chat('tiny');
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'served_digest_mismatch');
    assert.doesNotMatch(r.text, /from the pinned model/);
  } finally {
    state.digest = pinned;
  }
  assert.equal((await asAdmin('GET', `/admin/v1/models/${id}`)).json.state, 'quarantined');
  const next = await chat('tiny');
  assert.equal(next.status, 503);
  assert.ok(audits((e) => e.action === 'model.quarantine' && e.deployment?.id === id && e.principal === null).length === 1);
  assert.ok(audits((e) => e.kind === 'inference' && e.errorCode === 'served_digest_mismatch' && e.deployment?.id === id).length === 1);
});

test('a placement obligation no promoted deployment meets is refused', async () => {
  const id = await register('placed', '1', plain.url);
  await verifyAndPromote(id, copyModel('placed'));
  const r = await chat('placed');
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, 'route_obligation_unmet');
});

test('a confidential deployment gets traffic only with fresh evidence matching its PCRs', async () => {
  state.evidence = 'honest';
  const referenceValues = Object.fromEntries(Object.entries(PCRS).map(([k, v]) => [`pcr${k}`, v.toString('hex')]));
  const id = await register('secret-llm', '1', enclave.url, { attestation: { type: 'nitro', referenceValues } });
  await verifyAndPromote(id, copyModel('secret-1'));
  const ok = await chat('secret-llm');
  assert.equal(ok.status, 200, ok.text);
  // The batch receipt carries the entry, which binds the served artifact and the evidence that admitted it.
  const receipt = await verifyReceipt(String(ok.headers['warden-receipt']), t.w.ledgerVerifierKey);
  const bound = receipt.entry!.deployment as { id: string; artifactDigest: string; evidenceDigest?: string };
  assert.equal(bound.id, id);
  assert.match(bound.artifactDigest, /^sha256:[0-9a-f]{64}$/);
  assert.match(bound.evidenceDigest ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.equal(enclave.requests.filter((r) => r.path.startsWith('/.well-known/warden/attestation?nonce=')).length >= 1, true);

  const expectRefused = async (behaviour: Evidence, lastError: string) => {
    state.evidence = behaviour;
    const s = await asAdmin('POST', `/admin/v1/models/${id}/attest`);
    assert.equal(s.status, 200, s.text);
    assert.equal(s.json.trusted, false);
    assert.equal(s.json.lastError, lastError);
    const r = await chat('secret-llm');
    assert.equal(r.status, 503);
    assert.equal(r.json.error.code, 'deployment_not_attested');
    assert.match(r.json.error.message, new RegExp(lastError));
  };
  const trustAgain = async () => {
    state.evidence = 'honest';
    assert.equal((await asAdmin('POST', `/admin/v1/models/${id}/attest`)).json.trusted, true);
    assert.equal((await chat('secret-llm')).status, 200);
  };
  await expectRefused('wrong-pcr', 'attestation_measurement_mismatch');
  await trustAgain();
  await expectRefused('stale', 'attestation_stale');
  await trustAgain();
  await expectRefused('missing', 'attestation_unavailable');

  const verdicts = audits((e) => e.action === 'attest' && e.resource?.id === id).map((e) => `${e.decision}:${e.errorCode ?? ''}`);
  assert.deepEqual(verdicts, ['allow:', 'deny:attestation_measurement_mismatch', 'allow:', 'deny:attestation_stale', 'allow:', 'deny:attestation_unavailable']);
  assert.equal(audits((e) => e.kind === 'inference' && e.errorCode === 'deployment_not_attested').length, 3);
  // Each failure ran the attestation playbook: the webhook heard of it, and each step is a ledger entry.
  await waitFor(() => hooks.requests.length >= 3);
  const told = hooks.requests.map((r) => JSON.parse(r.body) as { playbook: string; deployment: string; attestation: { code: string } });
  assert.deepEqual(told.map((b) => [b.playbook, b.deployment, b.attestation.code]), [
    ['tee-failed', id, 'attestation_measurement_mismatch'],
    ['tee-failed', id, 'attestation_stale'],
    ['tee-failed', id, 'attestation_unavailable'],
  ]);
  const steps = audits((e) => e.action === 'playbook.step' && (e.details as { playbook?: string }).playbook === 'tee-failed');
  assert.equal(steps.length, 3);
  assert.ok(steps.every((e) => e.resource?.id === id && (e.details as { done: boolean }).done === true));
});

test('an attestation reference the verifier cannot use is refused at registration', async () => {
  const r = await asAdmin('POST', '/admin/v1/models', {
    model: 'odd', version: '1', upstream: enclave.url, tier: 'onprem', region: 'eu-west-1', tenant: 'acme', signatureBundle: bundle(),
    attestation: { type: 'nitro', referenceValues: { firmware: 'abc' } },
  });
  assert.equal(r.status, 400);
  assert.equal(r.json.error.code, 'invalid_attestation_reference');
});

test('registry changes are PDP decisions: no MFA gets a step-up challenge, a model admin may not touch the tool registry', async () => {
  const id = await register('pdp-gated', '1', plain.url);
  // Without the step-up token the PDP refuses (admin-needs-recent-mfa) and, since fresh MFA would be
  // allowed, the answer is the RFC 9470 challenge; the deployment is unchanged.
  const q = await withoutMfa('POST', `/admin/v1/models/${id}/quarantine`, { reason: 'no mfa' });
  assert.equal(q.status, 401, q.text);
  assert.equal(q.json.error.code, 'insufficient_user_authentication');
  assert.match(String(q.headers['www-authenticate']), /insufficient_user_authentication/);
  assert.equal((await asAdmin('GET', `/admin/v1/models/${id}`)).json.state, 'registered');
  const reg = await withoutMfa('POST', '/admin/v1/models', { model: 'x', version: '1', upstream: plain.url, tier: 'onprem', region: 'eu-west-1', tenant: 'acme', signatureBundle: bundle() });
  assert.equal(reg.status, 401);
  // Even listing the registry is an admin action (readRegistry).
  assert.equal((await withoutMfa('GET', '/admin/v1/models')).status, 401);
  // With fresh MFA, the model admin still has no permission on the tool registry: a plain 403.
  const tool = await asAdmin('POST', '/admin/v1/tools', { name: 'should_not_exist', description: 'x', input_schema: { type: 'object' }, backend: { type: 'http', url: 'https://127.0.0.1:9/x' } });
  assert.equal(tool.status, 403, tool.text);
  assert.equal(tool.json.error.code, 'policy_denied');
  assert.equal((await t.call('admin', 'GET', '/admin/v1/tools/should_not_exist', { key: t.adminKey })).status, 404);
  // A consumer is not an admin principal at all.
  assert.equal((await t.call('admin', 'GET', '/admin/v1/models', { key: alice })).status, 403);
  // A delegated token (an agent acting for mia) is never a step-up proof.
  const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: admin, subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', actor_token: alice, actor_token_type: 'urn:ietf:params:oauth:token-type:jwt', scope: 'chat' });
  const delegated = await t.call('inference', 'POST', '/v1/token', { body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(delegated.status, 200, delegated.text);
  const viaAgent = await t.call('admin', 'GET', '/admin/v1/models', { key: admin, headers: { 'warden-mfa-token': delegated.json.access_token } });
  assert.equal(viaAgent.status, 403);
  assert.equal(viaAgent.json.error.code, 'step_up_delegated');
  // Each refusal is a ledger entry naming the action the PDP was asked.
  const denied = audits((e) => e.kind === 'control' && e.decision === 'deny' && e.principal?.id === 'mia');
  assert.ok(denied.some((e) => e.action === 'manageModels' && e.resource?.id === id && e.policyIds?.includes('admin-needs-recent-mfa') && e.status === 401));
  assert.ok(denied.some((e) => e.action === 'readRegistry' && e.status === 401));
  assert.ok(denied.some((e) => e.action === 'manageTools' && e.status === 403));
});

test('`warden model` registry verbs go through the admin API: PDP-decided, in the ledger before the CLI returns', async () => {
  const dir = copyModel('cli-api');
  const env = { WARDEN_ADMIN_URL: t.w.adminUrl, WARDEN_CA: t.w.caPemPath, WARDEN_ADMIN_KEY: admin, WARDEN_MFA_TOKEN: await mfaToken('mia') };
  const cli = (...args: string[]) => runWarden(['model', ...args], env);
  const reg = await cli('register', dir, '--model', 'cli-api', '--version', '1', '--upstream', plain.url, '--tier', 'onprem', '--region', 'eu-west-1', '--tenant', 'acme');
  assert.equal(reg.code, 0, reg.stderr);
  const id = /^(dep_\w+)/.exec(reg.stdout)![1]!;
  assert.ok(audits((e) => e.action === 'model.register' && e.deployment?.id === id && e.principal?.id === 'mia').length === 1);
  // Promotion before verification: the registry refuses, the CLI says why and exits 1.
  const early = await cli('promote', id);
  assert.equal(early.code, 1);
  assert.match(early.stderr, /409 invalid_transition/);
  const v = await cli('verify', dir, '--key', SIGNER_PUB, '--deployment', id);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /scan ok/);
  assert.match(v.stdout, /cli-api@1\s+verified/);
  state.digest = (await asAdmin('GET', `/admin/v1/models/${id}`)).json.artifactDigest;
  // Without the MFA step-up the CLI gets the RFC 9470 challenge and nothing changes.
  const noMfa = await runWarden(['model', 'promote', id], { ...env, WARDEN_MFA_TOKEN: '' });
  assert.equal(noMfa.code, 1);
  assert.match(noMfa.stderr, /promotion_denied|insufficient_user_authentication/);
  const p = await cli('promote', id);
  assert.equal(p.code, 0, p.stderr);
  assert.match((await cli('list', '--model', 'cli-api')).stdout, /cli-api@1\s+promoted/);
  assert.match((await cli('show', id)).stdout, /state\s+promoted/);
  // `attest` challenges a confidential deployment's runtime; this one is not confidential, and the CLI says so.
  const att = await cli('attest', id);
  assert.equal(att.code, 1);
  assert.match(att.stderr, /not_confidential/);
  assert.equal((await cli('attest')).code, 2, 'attest needs a deployment ID');
  assert.equal((await chat('cli-api')).status, 200);
  const q = await cli('quarantine', id, '--reason', 'pulled by the operator');
  assert.equal(q.code, 0, q.stderr);
  const after = await chat('cli-api');
  assert.equal(after.status, 503, 'quarantine through the API is effective on the next request');
  const rb = await cli('rollback', 'cli-api');
  assert.equal(rb.code, 1);
  assert.match(rb.stderr, /no_known_good_version/);
  const trail = audits((e) => e.deployment?.id === id).map((e) => `${e.action}:${e.decision}`);
  for (const step of ['model.register:allow', 'model.promote:deny', 'model.verify:allow', 'model.promote:allow', 'model.quarantine:allow']) assert.ok(trail.includes(step), `${step} in ${trail.join(', ')}`);
  // Offline, only taking a deployment out of service is possible: promotion needs the PDP.
  const off = await runWarden(['model', 'promote', id, '--offline', '--data-dir', t.w.dataDir]);
  assert.equal(off.code, 2);
  assert.match(off.stderr, /promote needs the PDP and the ledger/);
});

test('a break-glass `warden model quarantine --offline` on the data dir reaches the running gateway', async () => {
  const id = await register('cli-model', '1', plain.url);
  await verifyAndPromote(id, copyModel('cli-1'));
  assert.equal((await chat('cli-model')).status, 200);
  const cli = spawnSync(process.execPath, ['--input-type=module', '-e', RUNNER, 'model', 'quarantine', id, '--reason', 'pulled by the operator', '--offline', '--data-dir', t.w.dataDir], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  // The gateway re-reads the registry every workload.refreshIntervalMs (100 ms here): poll, bounded.
  // Until the route cache catches up, a request may still pick the deployment: the served-digest check then
  // finds it quarantined and withholds the answer (403 deployment_not_routable). Steady state: 503.
  let last = await chat('cli-model');
  for (let i = 0; i < 100 && last.status !== 503; i++) {
    if (last.status !== 200) assert.equal(last.json.error.code, 'deployment_not_routable', last.text);
    await new Promise((r) => setTimeout(r, 50));
    last = await chat('cli-model');
  }
  assert.equal(last.status, 503, last.text);
  assert.equal(last.json.error.code, 'no_promoted_deployment');
  assert.ok(t.audits().some((e) => e.action === 'model.quarantine' && (e.principal as { id?: string } | null)?.id?.startsWith('local:')), 'the offline transition reached the ledger');
});

test('workload.requireRegistered refuses models outside the registry', async () => {
  const strict = await startTestWarden((c) => {
    c.workload.requireRegistered = true;
  });
  try {
    const { key } = await strict.keyFor('bob', ['*'], ['chat']);
    const r = await strict.call('inference', 'POST', '/v1/chat/completions', { key, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'hi' }] } });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'model_not_registered');
    assert.equal(strict.audits().filter((e) => e.errorCode === 'model_not_registered').length, 1);
  } finally {
    await strict.stop();
  }
});
