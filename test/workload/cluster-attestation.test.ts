// Attestation verdicts across replicas (two in-process Wardens on one PostgreSQL + Redis): one replica challenges
// a confidential deployment per round, both route on the one stored verdict, a failing answer seen by A makes B
// refuse within a second, each verdict change is one `attest` entry naming the replica that made it (and the
// attestation playbook runs once), and a verdict past its expiry with no renewal is refused by both. The
// deployment is a FAKE OpenAI-compatible model server answering attestation challenges with Nitro documents
// signed by a test PKI (external to Warden); time moves through an offset clock both replicas read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireService } from '../helpers/services.js';
import { PG_URL, startTestCluster, withinOneSecond } from '../helpers/cluster.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { testdata } from '../helpers/testdata.js';
import type { TestWarden } from '../helpers/warden.js';
import { PgChangeFeed } from '../../src/store/pg-changes.js';
import { AnnouncingRegistryStore } from '../../src/store/registry-announce.js';
import { PostgresRegistryStore } from '../../src/store/registry-postgres.js';
import { createNitroPki, forgeNitroDocument, pcrValues } from './attestation/nitro-forge.js';

const BUNDLE = JSON.parse(readFileSync(join(testdata('crypto_vectors/model_signing/v1.0.0-certificate'), 'model.sig'), 'utf8')) as unknown;
const PINNED = 'sha256:61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226';
const PCRS = pcrValues(0x51);
const MIN = 60_000;

test('two replicas share one attestation verdict: one challenge per round, one entry per change, one expiry', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  const pki = await createNitroPki(Date.now());
  const enclave = { behaviour: 'honest' as 'honest' | 'wrong-pcr', challenges: 0 };
  const upstream = await startFakeUpstream((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/.well-known/warden/attestation') {
      enclave.challenges++;
      const pcrs = enclave.behaviour === 'wrong-pcr' ? { ...PCRS, 0: Buffer.alloc(48, 0xaa) } : PCRS;
      void forgeNitroDocument(pki, { timestamp: clock.now(), pcrs, nonce: Buffer.from(url.searchParams.get('nonce') ?? '', 'hex') }).then((doc) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'nitro', document: doc.toString('base64') }));
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-model-artifact-digest': PINNED });
    res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'from the enclave' } }], usage: { total_tokens: 3 } }));
  });
  t.after(() => upstream.close());
  // The operator's incident channel (a FAKE webhook receiver): the attestation playbook must tell it once.
  const hooks = await startFakeUpstream((_req, res) => void res.writeHead(204).end());
  t.after(() => hooks.close());
  const cl = await startTestCluster(
    2,
    (c) => {
      const root = join(c.dataDir, 'nitro-root.pem');
      writeFileSync(root, pki.rootPem);
      c.workload.attestation.nitroRoots = [root];
      // The scheduler's timer never fires during the test: rounds are run through attestationRound().
      c.workload.attestation.reverifyEveryMs = 10 * MIN;
      c.workload.attestation.trustTtlMs = 30 * MIN;
      c.workload.attestation.maxEvidenceAgeMs = MIN;
      c.workload.refreshIntervalMs = 600_000;
      c.models['secret-llm'] = { grantees: ['consumers'] };
      c.monitor.playbooks = [{ name: 'tee-failed', when: { attestation: true }, steps: [{ do: 'webhook', url: `${hooks.url}/incident` }] }];
    },
    { clock },
  );
  t.after(() => cl.stop());
  const [a, b] = cl.replicas as [TestWarden, TestWarden];
  await cl.adminOk(a, 'POST', '/admin/v1/principals', { id: 'alice', tenant: 'acme', groups: ['consumers'] });
  const alice = ((await cl.adminOk(a, 'POST', '/admin/v1/keys', { principal: 'alice', models: ['secret-llm'], actions: ['chat'] })) as { key: string }).key;
  const chat = (r: TestWarden) => r.call('inference', 'POST', '/v1/chat/completions', { key: alice, body: { model: 'secret-llm', messages: [{ role: 'user', content: 'hi' }] } });
  const referenceValues = Object.fromEntries(Object.entries(PCRS).map(([k, v]) => [`pcr${k}`, v.toString('hex')]));
  const reg = await a.call('admin', 'POST', '/admin/v1/models', { key: cl.adminKey, body: { model: 'secret-llm', version: '1', artifactDigest: PINNED, upstream: upstream.url, tier: 'onprem', region: 'eu-west-1', tenant: 'acme', signatureBundle: BUNDLE, attestation: { type: 'nitro', referenceValues } } });
  assert.equal(reg.status, 201, reg.text);
  const id = reg.json.id as string;

  // Promotion with verification and MFA is covered by e2e-routing.test.ts; a third writer on the shared store
  // (announcing like a replica) promotes, so both replicas take the deployment up at once.
  const side = await PostgresRegistryStore.connect({ connectionString: PG_URL, prefix: cl.prefix });
  const feed = await PgChangeFeed.connect({ connectionString: PG_URL, prefix: cl.prefix });
  t.after(async () => {
    await feed.close();
    await side.close();
  });
  assert.equal(await new AnnouncingRegistryStore(side, feed).transition(id, 'registered', 'promoted', { knownGood: true, promotedAt: Date.now() }, Date.now()), true);
  for (const r of [a, b]) await withinOneSecond('the attested deployment on both replicas', async () => (await chat(r)).status === 200);
  assert.equal(enclave.challenges, 1, 'both replicas took the deployment up; one challenged it');

  const entries = () => [...a.audits(), ...b.audits()].filter((e) => e.action === 'attest' && (e.resource as { id?: string })?.id === id) as { decision: string; errorCode?: string; details: Record<string, unknown> }[];
  assert.equal(entries().length, 1);
  assert.equal(entries()[0]!.decision, 'allow');
  assert.match(String(entries()[0]!.details.replica), /\/\d+\/[0-9a-f]{8}$/);

  // A period on, both replicas' rounds at once: one challenge, no entry (nothing changed), both still route.
  offset += 10 * MIN;
  await Promise.all([a.w.attestationRound(), b.w.attestationRound()]);
  assert.equal(enclave.challenges, 2);
  for (const r of [a, b]) assert.equal((await chat(r)).status, 200);
  assert.equal(entries().length, 1);

  // A's round meets wrong evidence: B refuses within a second; one deny entry, by A; the playbook runs once.
  enclave.behaviour = 'wrong-pcr';
  offset += 10 * MIN;
  await a.w.attestationRound();
  assert.equal(enclave.challenges, 3);
  const ms = await withinOneSecond('the failure on B', async () => (await chat(b)).status === 503);
  console.log(`# a failing attestation recorded by A was refused on B after ${ms} ms`);
  for (const r of [a, b]) {
    const refused = await chat(r);
    assert.equal(refused.status, 503, refused.text);
    assert.equal(refused.json.error.code, 'deployment_not_attested');
    assert.match(refused.json.error.message, /attestation_measurement_mismatch/);
  }
  const deny = entries().filter((e) => e.decision === 'deny');
  assert.equal(deny.length, 1);
  assert.equal(deny[0]!.errorCode, 'attestation_measurement_mismatch');
  assert.ok(a.audits().some((e) => e.action === 'attest' && e.decision === 'deny'), 'recorded by A, the replica that challenged');
  assert.ok(!b.audits().some((e) => e.action === 'attest' && e.decision === 'deny'), 'not by B');
  await withinOneSecond('the playbook webhook', async () => hooks.requests.length >= 1);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(hooks.requests.length, 1, 'the attestation playbook ran once');

  // Honest again through B's round; then no renewal past the verdict's expiry: both refuse.
  enclave.behaviour = 'honest';
  offset += 10 * MIN;
  await b.w.attestationRound();
  await withinOneSecond('the renewal on A', async () => (await chat(a)).status === 200);
  assert.equal(entries().filter((e) => e.decision === 'allow').length, 2);
  // Each entry names the replica that recorded it: the renewal (B's) and the failure (A's) name different ones.
  const named = (r: TestWarden, decision: string) => r.audits().filter((e) => e.action === 'attest' && e.decision === decision).map((e) => (e.details as { replica: string }).replica);
  const [byA] = named(a, 'deny');
  const byB = named(b, 'allow').at(-1);
  assert.ok(byA && byB && byA !== byB, `${byA} / ${byB}`);
  assert.deepEqual(entries().find((e) => e.decision === 'allow' && e.details.previous === 'untrusted')?.details.replica, byB);
  offset += 30 * MIN;
  for (const r of [a, b]) {
    const lapsed = await chat(r);
    assert.equal(lapsed.status, 503, lapsed.text);
    assert.match(lapsed.json.error.message, /attestation_expired/);
  }
  assert.equal(entries().length, 3, 'one entry per change: allow, deny, allow');
});
