import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FixedClock } from '../../../src/core/clock.js';
import { FailClosed } from '../../../src/core/errors.js';
import type { AuditEvent, Principal } from '../../../src/core/types.js';
import { SqliteRegistryStore } from '../../../src/store/registry-sqlite.js';
import { openSqlite } from '../../../src/store/sqlite.js';
import {
  ArtifactVerificationFailed, DeploymentNotRoutable, InvalidTransition, NoKnownGoodVersion, PromotionDenied, SecondApproverRequired, ServedDigestMismatch,
} from '../../../src/workload/registry/errors.js';
import { ModelRegistry, type RegistryPolicy } from '../../../src/workload/registry/registry.js';
import { scanModel } from '../../../src/workload/scan/scan-model.js';
import { pemSigner, type Signer } from '../../../src/workload/signing/keys.js';
import { signModel } from '../../../src/workload/signing/sign-model.js';
import { verifyModel } from '../../../src/workload/signing/verify-model.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-registry-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const admin = (id: string): Principal => ({ kind: 'user', id, tenant: 'acme', groups: ['admins'], authn: { method: 'oidc', credentialId: `jti-${id}` }, scope: { models: ['*'], actions: ['*'] }, admin: true });
const alice = admin('alice');
const bob = admin('bob');
const mallory = admin('mallory');
const newSigner = () => pemSigner(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
const trusted = newSigner();

let n = 0;
async function artifact(signer: Signer = trusted, content = `weights-${n}`) {
  const dir = join(tmp, `m${n++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), '{}');
  writeFileSync(join(dir, 'weights.bin'), content);
  const signed = await signModel(dir, signer);
  return { dir, signed, evidence: { verifiedModel: await verifyModel(dir, signed.bundle, signer.publicKey), scanReport: await scanModel(dir, { ignorePaths: ['model.sig'] }) } };
}

function setup(policy: Partial<RegistryPolicy> = {}, opts: { authorize?: (p: Principal) => boolean | Promise<boolean>; audit?: (e: AuditEvent) => void } = {}) {
  const events: AuditEvent[] = [];
  const clock = new FixedClock(Date.parse('2025-06-01T00:00:00Z'));
  const registry = new ModelRegistry({
    store: new SqliteRegistryStore(openSqlite(':memory:')),
    audit: opts.audit ?? ((e) => void events.push(e)),
    authorize: async (p, action) => (action === 'promoteModel' ? (opts.authorize ?? ((q) => q.id !== 'mallory'))(p) : false),
    policy: { trustedSigners: [trusted.publicKey], ...policy },
    clock,
  });
  return { registry, events, clock };
}

const base = { model: 'llama-3-8b', tier: 'onprem', region: 'eu-west-1', tenant: 'acme', upstream: 'http://127.0.0.1:9001/' };

async function registered(r: ModelRegistry, version: string, art?: Awaited<ReturnType<typeof artifact>>) {
  const a = art ?? (await artifact());
  const d = await r.register(alice, { ...base, version, artifactDigest: a.signed.modelDigest, signatureBundle: a.signed.bundle });
  return { d, a };
}

test('the happy path: register → verify → promote; routable; every transition in the ledger', async () => {
  const { registry, events, clock } = setup();
  const { d, a } = await registered(registry, '1.0');
  assert.equal(d.state, 'registered');
  assert.equal(d.upstream, 'http://127.0.0.1:9001');
  assert.deepEqual(registry.routableDeployments('llama-3-8b'), []);
  clock.advance(1000);
  assert.equal((await registry.verify(alice, d.id, a.evidence)).state, 'verified');
  const p = await registry.promote(bob, d.id);
  assert.equal(p.pendingApproval, false);
  assert.equal(p.deployment.state, 'promoted');
  assert.deepEqual(registry.routableDeployments('llama-3-8b').map((x) => x.id), [d.id]);
  assert.deepEqual(events.map((e) => `${e.action}:${e.decision}`), ['model.register:allow', 'model.verify:allow', 'model.promote:allow']);
  const last = events.at(-1)!;
  assert.equal(last.kind, 'control');
  assert.deepEqual(last.deployment, { id: d.id, artifactDigest: a.signed.modelDigest });
  assert.equal(last.principal?.id, 'bob');
  assert.equal(last.details?.to, 'promoted');
});

test('an unverified artifact cannot be promoted, and the refusal is audited', async () => {
  const { registry, events } = setup();
  const { d } = await registered(registry, '1.0');
  await assert.rejects(registry.promote(alice, d.id), InvalidTransition);
  assert.equal(events.at(-1)!.decision, 'deny');
  assert.equal(events.at(-1)!.errorCode, 'invalid_transition');
});

test('verification refusals: untrusted signer, tampered files, failed scan, missing provenance/SBOM', async () => {
  const { registry, events } = setup({ requireSbom: false });
  // Signed by a key the registry does not trust.
  const rogue = newSigner();
  const ra = await artifact(rogue);
  const rd = await registry.register(alice, { ...base, version: 'rogue', artifactDigest: ra.signed.modelDigest, signatureBundle: ra.signed.bundle });
  await assert.rejects(registry.verify(alice, rd.id, ra.evidence), (e: unknown) => e instanceof ArtifactVerificationFailed && e.code === 'untrusted_signer');
  // Evidence from other files than the ones signed.
  const { d } = await registered(registry, 'tampered');
  const other = await artifact();
  await assert.rejects(registry.verify(alice, d.id, other.evidence), (e: unknown) => e instanceof ArtifactVerificationFailed && e.code === 'files_mismatch');
  // A scan that found something.
  const bad = await artifact(trusted, 'x');
  writeFileSync(join(bad.dir, 'evil.pkl'), Buffer.from('cos\nsystem\n(tR.', 'latin1'));
  const badScan = await scanModel(bad.dir);
  const { d: d2 } = await registered(registry, 'scanfail', bad);
  await assert.rejects(registry.verify(alice, d2.id, { ...bad.evidence, scanReport: badScan }), (e: unknown) => e instanceof ArtifactVerificationFailed && e.code === 'scan_failed' && /evil\.pkl/.test(e.message));
  assert.deepEqual(events.filter((e) => e.action === 'model.verify').map((e) => e.decision), ['deny', 'deny', 'deny']);

  const strict = setup({ requireProvenance: true }).registry;
  const { d: d3, a: a3 } = await registered(strict, '1.0');
  await assert.rejects(strict.verify(alice, d3.id, a3.evidence), (e: unknown) => e instanceof ArtifactVerificationFailed && e.code === 'provenance_missing');
  const sbomStrict = setup({ requireSbom: true }).registry;
  const { d: d4, a: a4 } = await registered(sbomStrict, '1.0');
  await assert.rejects(sbomStrict.verify(alice, d4.id, a4.evidence), (e: unknown) => e instanceof ArtifactVerificationFailed && e.code === 'sbom_missing');
});

test('the same model@version with another digest is refused', async () => {
  const { registry } = setup();
  await registered(registry, '1.0');
  const other = await artifact();
  await assert.rejects(registry.register(alice, { ...base, version: '1.0', artifactDigest: other.signed.modelDigest, signatureBundle: other.signed.bundle }), /already registered/);
});

test('the PDP decides promotion: deny is audited, an unanswering PDP fails closed', async () => {
  const { registry, events } = setup();
  const { d, a } = await registered(registry, '1.0');
  await registry.verify(alice, d.id, a.evidence);
  await assert.rejects(registry.promote(mallory, d.id), PromotionDenied);
  assert.equal(events.at(-1)!.errorCode, 'promotion_denied');
  const down = setup({}, { authorize: () => { throw new Error('pdp down'); } });
  const x = await registered(down.registry, '1.0');
  await down.registry.verify(alice, x.d.id, x.a.evidence);
  await assert.rejects(down.registry.promote(alice, x.d.id), FailClosed);
  assert.equal(down.events.at(-1)!.decision, 'error');
  assert.equal((await down.registry.get(x.d.id)).state, 'verified');
});

test('two-person rule: the first approval waits, the same person cannot approve twice, a second person promotes', async () => {
  const { registry, events } = setup({ requireSecondApprover: true });
  const { d, a } = await registered(registry, '1.0');
  await registry.verify(alice, d.id, a.evidence);
  const first = await registry.promote(alice, d.id);
  assert.equal(first.pendingApproval, true);
  assert.equal(first.deployment.state, 'verified');
  assert.deepEqual(registry.routableDeployments('llama-3-8b'), []);
  await assert.rejects(registry.promote(alice, d.id), SecondApproverRequired);
  const second = await registry.promote(bob, d.id);
  assert.equal(second.deployment.state, 'promoted');
  assert.deepEqual(second.deployment.approvals, ['alice', 'bob']);
  assert.deepEqual(events.filter((e) => e.action === 'model.approve' || e.action === 'model.promote').map((e) => `${e.action}:${e.decision}`), ['model.approve:allow', 'model.promote:deny', 'model.promote:allow']);
});

test('quarantine removes a deployment from routing at once and it can never be promoted again', async () => {
  const { registry } = setup();
  const { d, a } = await registered(registry, '1.0');
  await registry.verify(alice, d.id, a.evidence);
  await registry.promote(alice, d.id);
  assert.equal(registry.routableDeployments('llama-3-8b').length, 1);
  await registry.quarantine(alice, d.id, 'CVE in tokenizer');
  assert.deepEqual(registry.routableDeployments('llama-3-8b'), []);
  await assert.rejects(registry.promote(alice, d.id), InvalidTransition);
});

test('promoting v2 retires v1 in the same slot; rollback re-promotes v1 (the last known-good)', async () => {
  const { registry, events, clock } = setup();
  const v1 = await registered(registry, '1.0');
  await registry.verify(alice, v1.d.id, v1.a.evidence);
  await registry.promote(alice, v1.d.id);
  clock.advance(60_000);
  const v2 = await registered(registry, '2.0');
  await registry.verify(alice, v2.d.id, v2.a.evidence);
  await registry.promote(alice, v2.d.id);
  assert.equal((await registry.get(v1.d.id)).state, 'retired');
  assert.equal((await registry.get(v1.d.id)).supersededBy, v2.d.id);
  assert.deepEqual(registry.routableDeployments('llama-3-8b').map((x) => x.version), ['2.0']);
  clock.advance(60_000);
  const back = await registry.rollback(alice, 'llama-3-8b');
  assert.equal(back.id, v1.d.id);
  assert.equal(back.state, 'promoted');
  assert.equal((await registry.get(v2.d.id)).state, 'retired');
  assert.deepEqual(registry.routableDeployments('llama-3-8b').map((x) => x.version), ['1.0']);
  assert.ok(events.some((e) => e.action === 'model.rollback' && e.decision === 'allow' && e.deployment?.id === v1.d.id));
});

test('rollback skips quarantined versions and refuses when nothing known-good is left', async () => {
  const { registry, events } = setup();
  const v1 = await registered(registry, '1.0');
  await registry.verify(alice, v1.d.id, v1.a.evidence);
  await registry.promote(alice, v1.d.id);
  const v2 = await registered(registry, '2.0');
  await registry.verify(alice, v2.d.id, v2.a.evidence);
  await registry.promote(alice, v2.d.id);
  await registry.quarantine(alice, v1.d.id, 'bad');
  await assert.rejects(registry.rollback(alice, 'llama-3-8b'), NoKnownGoodVersion);
  assert.equal(events.at(-1)!.errorCode, 'no_known_good_version');
  assert.equal((await registry.get(v2.d.id)).state, 'promoted');
});

test('checkServedDigest: the pinned digest passes; anything else quarantines and denies', async () => {
  const { registry, events } = setup();
  const { d, a } = await registered(registry, '1.0');
  await registry.verify(alice, d.id, a.evidence);
  await registry.promote(alice, d.id);
  await registry.checkServedDigest(d.id, a.signed.modelDigest);
  await registry.checkServedDigest(d.id, a.signed.modelDigest.slice('sha256:'.length).toUpperCase());
  await assert.rejects(registry.checkServedDigest(d.id, 'sha256:' + '0'.repeat(64)), ServedDigestMismatch);
  assert.equal((await registry.get(d.id)).state, 'quarantined');
  assert.deepEqual(registry.routableDeployments('llama-3-8b'), []);
  const q = events.at(-1)!;
  assert.equal(q.action, 'model.quarantine');
  assert.equal(q.principal, null);
  assert.match(String(q.details?.reason), /upstream served/);
  await assert.rejects(registry.checkServedDigest(d.id, a.signed.modelDigest), DeploymentNotRoutable);
});

test('a missing served digest is a mismatch, not a pass', async () => {
  const { registry } = setup();
  const { d, a } = await registered(registry, '1.0');
  await registry.verify(alice, d.id, a.evidence);
  await registry.promote(alice, d.id);
  await assert.rejects(registry.checkServedDigest(d.id, undefined), ServedDigestMismatch);
});

test('if the ledger refuses the entry, the transition does not happen', async () => {
  let fail = false;
  const { registry } = setup({}, { audit: () => { if (fail) throw new Error('disk full'); } });
  const { d, a } = await registered(registry, '1.0');
  await registry.verify(alice, d.id, a.evidence);
  fail = true;
  await assert.rejects(registry.promote(alice, d.id), FailClosed);
  assert.equal((await registry.get(d.id)).state, 'verified');
});

test('register validates its input', async () => {
  const { registry } = setup();
  const a = await artifact();
  const ok = { ...base, version: '1', artifactDigest: a.signed.modelDigest, signatureBundle: a.signed.bundle };
  await assert.rejects(registry.register(alice, { ...ok, upstream: 'file:///etc/passwd' }), /http\(s\)/);
  await assert.rejects(registry.register(alice, { ...ok, upstream: 'http://u:p@host/' }), /credentials/);
  await assert.rejects(registry.register(alice, { ...ok, artifactDigest: 'md5:abc' }), /sha256/);
  await assert.rejects(registry.register(alice, { ...ok, model: '../x' }), /model/);
  await assert.rejects(registry.register(alice, { ...ok, signatureBundle: '{"mediaType":"x"}' }), /Sigstore bundle/);
});
