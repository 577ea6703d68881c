// Lineage of jobs that end, and its export to an OpenLineage endpoint, against a real gateway (real TLS, SQLite,
// ledger, PDP): a training run's START is followed by COMPLETE when an admin ends it (its token revoked) or when
// its token expires, and by FAIL with the error when the admin says it failed; a refused verification is a FAIL
// event. Every event's digest is in its ledger entry. Each event is POSTed over real HTTPS, with the configured
// bearer token, to a FAKE OpenLineage receiver (labelled: it stands in for Marquez or another OpenLineage
// consumer); while the receiver fails, each failure after the bounded tries is a ledger entry and the event stays
// queued; once it answers again every event arrives, none lost.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signDataset } from '../../../src/data/datasets/sign-dataset.js';
import { lineageDigest, type LineageEvent } from '../../../src/data/lineage/openlineage.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';
import { issueServerCert, makeTestCa } from '../../helpers/pki.js';
import { runWarden } from '../../helpers/proc.js';
import { startTestWarden, type TestWarden } from '../../helpers/warden.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-lineage-runs-'));
const pair = generateKeyPairSync('ed25519');
const signer = pemSigner(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const LINES = Array.from({ length: 8 }, (_, i) => JSON.stringify({ text: `ticket ${i}`, label: i % 2 ? 'billing' : 'other' }));
const TOKEN = 'fake-openlineage-receiver-token';

/** FAKE OpenLineage receiver (test double for an external OpenLineage consumer such as Marquez): it records what it is sent. */
class FakeOpenLineageReceiver {
  readonly events: LineageEvent[] = [];
  readonly authorizations: (string | undefined)[] = [];
  /** While set, every POST is answered with this status and not kept. */
  failWith: number | null = null;
  refused = 0;
  server!: Server;

  async start(cert: { certPem: string; keyPem: string }): Promise<string> {
    this.server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.authorizations.push(req.headers.authorization);
        if (req.method !== 'POST' || req.url !== '/api/v1/lineage' || req.headers['content-type'] !== 'application/json') {
          res.writeHead(400).end();
          return;
        }
        if (this.failWith !== null) {
          this.refused++;
          res.writeHead(this.failWith).end();
          return;
        }
        this.events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as LineageEvent);
        res.writeHead(201).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `https://localhost:${(this.server.address() as AddressInfo).port}/api/v1/lineage`;
  }
}

async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('lineage: runs that end, and the OpenLineage export', () => {
  let t: TestWarden;
  const receiver = new FakeOpenLineageReceiver();
  const ids: Record<string, string> = {};
  const dirs: Record<string, string> = {};
  const entries = (action: string) => t.audits().filter((a) => a.action === action);
  const details = (e: { details?: unknown }) => e.details as Record<string, string | number>;
  const lineage = async (id: string) => ((await t.admin('GET', `/admin/v1/datasets/${id}/lineage`)).events as { digest: string; event: LineageEvent }[]);

  async function admit(name: string): Promise<void> {
    const dir = join(tmp, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'train.jsonl'), LINES.join('\n') + '\n');
    const signed = await signDataset(dir, { name, version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification: 'internal', categories: [], retention: 'P30D' }, signer);
    const d = await t.admin('POST', '/admin/v1/datasets', { signatureBundle: signed.bundle });
    await t.admin('POST', `/admin/v1/datasets/${d.id}/verify`, { path: dir });
    ids[name] = d.id;
    dirs[name] = dir;
  }

  before(async () => {
    const ca = await makeTestCa({ name: 'fake OpenLineage receiver CA' });
    const endpoint = await receiver.start(await issueServerCert(ca, ['localhost']));
    const caFile = join(tmp, 'receiver-ca.pem');
    writeFileSync(caFile, ca.certPem);
    t = await startTestWarden((c) => {
      c.data = { ...c.data, sweepIntervalMs: 200, lineage: { endpoint, token: TOKEN, caFile, attempts: 2, retryDelayMs: 20, timeoutMs: 5_000 } };
    });
    await t.admin('POST', '/admin/v1/data-sources', { id: 'vendor', publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }), owner: 'vendor@acme' });
    await admit('tickets');
    await admit('other');
  });
  after(async () => {
    await t?.stop();
    receiver.server?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('every event is POSTed to the OpenLineage endpoint over HTTPS with the bearer token, as the ledger names it', async () => {
    await until('register and verify of both datasets at the receiver', () => receiver.events.length >= 4);
    assert.ok(receiver.authorizations.every((a) => a === `Bearer ${TOKEN}`));
    const stored = (await lineage(ids.tickets!)).map((l) => l.digest);
    const pushed = receiver.events.map((e) => lineageDigest(e));
    for (const d of stored) assert.ok(pushed.includes(d), `${d} was pushed unchanged`);
    const chained = entries('data.dataset.verify').map((e) => details(e).lineageEvent);
    for (const d of stored.slice(1)) assert.ok(chained.includes(d), 'the pushed event is the one the ledger entry names');
  });

  test('an admin ends a run: COMPLETE (the token is revoked), FAIL with the error; a run ends once; a bad outcome is 400', async () => {
    const run = await t.admin('POST', '/admin/v1/training-tokens', { model: 'tiny-llm', datasets: [ids.tickets] });
    const read = () => t.call('inference', 'GET', `/v1/datasets/${ids.tickets}/records?file=train.jsonl`, { key: run.access_token });
    assert.equal((await read()).status, 200);
    const bad = await t.call('admin', 'POST', `/admin/v1/training-tokens/${run.jti}/end`, { key: t.adminKey, body: { outcome: 'maybe' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'invalid_field');
    const failNoError = await t.call('admin', 'POST', `/admin/v1/training-tokens/${run.jti}/end`, { key: t.adminKey, body: { outcome: 'fail' } });
    assert.equal(failNoError.status, 400);

    const ended = await t.admin('POST', `/admin/v1/training-tokens/${run.jti}/end`, { outcome: 'complete' });
    assert.equal(ended.outcome, 'COMPLETE');
    assert.equal((await read()).status, 401, 'the ended run\'s token no longer reads');
    const entry = entries('data.trainingRun.end').at(-1)!;
    assert.equal(entry.decision, 'allow');
    assert.equal(details(entry).lineageEvent, ended.lineageEvent);
    const events = await lineage(ids.tickets!);
    const runEvents = events.filter((e) => e.event.run.runId === run.jti);
    assert.deepEqual(runEvents.map((e) => e.event.eventType), ['START', 'COMPLETE']);
    assert.equal(runEvents[1]!.digest, ended.lineageEvent);
    assert.equal(runEvents[1]!.event.run.facets.warden_run_end?.reason, 'ended by an admin');
    assert.equal(lineageDigest(runEvents[1]!.event), runEvents[1]!.digest);

    const again = await t.call('admin', 'POST', `/admin/v1/training-tokens/${run.jti}/end`, { key: t.adminKey, body: {} });
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, 'training_run_ended');
    assert.equal(entries('data.trainingRun.end').at(-1)!.decision, 'deny', 'the refusal is in the ledger');
    const unknown = await t.call('admin', 'POST', '/admin/v1/training-tokens/00000000-0000-4000-8000-000000000000/end', { key: t.adminKey, body: {} });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'training_run_not_found');

    const failed = await t.admin('POST', '/admin/v1/training-tokens', { model: 'tiny-llm', datasets: [ids.tickets, ids.other] });
    const env = { WARDEN_ADMIN_URL: t.w.adminUrl, WARDEN_CA: t.w.caPemPath, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_MFA_TOKEN: '' };
    const f = await runWarden(['data', 'end-run', failed.jti, '--fail', 'loss diverged at step 1200'], env);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, new RegExp(`run ${failed.jti} of tiny-llm ended: FAIL`));
    for (const id of [ids.tickets!, ids.other!]) {
      const fail = (await lineage(id)).find((e) => e.event.run.runId === failed.jti && e.event.eventType === 'FAIL');
      assert.equal(fail?.event.run.facets.errorMessage?.message, 'loss diverged at step 1200', 'the FAIL event is stored with every dataset of the run');
    }
    await until('the run events at the receiver', () => receiver.events.some((e) => e.run.runId === failed.jti && e.eventType === 'FAIL'));
    const text = await t.admin('GET', `/admin/v1/datasets/${ids.other}/lineage`);
    assert.match(text.text, /train\.tiny-llm .*\(FAIL: loss diverged at step 1200\)/);
  });

  test('a run whose token expires is ended by the sweep: COMPLETE, reason token expired, once', async () => {
    const run = await t.admin('POST', '/admin/v1/training-tokens', { model: 'tiny-llm', datasets: [ids.other], ttlSec: 1 });
    await until('the expiry sweep', async () => (await lineage(ids.other!)).some((e) => e.event.run.runId === run.jti && e.event.eventType === 'COMPLETE'));
    const end = (await lineage(ids.other!)).filter((e) => e.event.run.runId === run.jti && e.event.eventType !== 'START');
    assert.equal(end.length, 1, 'ended once');
    assert.equal(end[0]!.event.run.facets.warden_run_end?.reason, 'token expired');
    assert.equal(end[0]!.event.run.facets.warden_actor.principal, null);
    const entry = entries('data.trainingRun.end').find((e) => details(e).lineageEvent === end[0]!.digest);
    assert.ok(entry, 'the expiry is a ledger entry naming the event');
    const late = await t.call('admin', 'POST', `/admin/v1/training-tokens/${run.jti}/end`, { key: t.adminKey, body: {} });
    assert.equal(late.status, 409);
  });

  test('a refused verification is a FAIL event of the verify job, in the ledger and pushed', async () => {
    const dir = join(tmp, 'broken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'train.jsonl'), LINES.join('\n') + '\n');
    const signed = await signDataset(dir, { name: 'broken', version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification: 'internal', categories: [], retention: 'P30D' }, signer);
    const d = await t.admin('POST', '/admin/v1/datasets', { signatureBundle: signed.bundle });
    writeFileSync(join(dir, 'train.jsonl'), LINES.slice(1).join('\n') + '\n');
    const v = await t.call('admin', 'POST', `/admin/v1/datasets/${d.id}/verify`, { key: t.adminKey, body: { path: dir } });
    assert.equal(v.status, 403, v.text);
    const fail = (await lineage(d.id)).at(-1)!;
    assert.equal(fail.event.eventType, 'FAIL');
    assert.equal(fail.event.job.name, 'data.dataset.verify');
    assert.match(fail.event.run.facets.errorMessage!.message, /^dataset_manifest_mismatch: /);
    const entry = entries('data.dataset.verify').at(-1)!;
    assert.equal(entry.decision, 'deny');
    assert.equal(details(entry).lineageEvent, fail.digest);
    await until('the FAIL event at the receiver', () => receiver.events.some((e) => lineageDigest(e) === fail.digest));
  });

  test('transform and evaluate runs are pushed like every other event, as their ledger entries name them', async () => {
    const dir = join(tmp, 'derived');
    mkdirSync(dir);
    writeFileSync(join(dir, 'train.jsonl'), LINES.slice(2).join('\n') + '\n');
    const signed = await signDataset(dir, { name: 'derived', version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification: 'internal', categories: [], retention: 'P30D' }, signer);
    await t.admin('POST', '/admin/v1/datasets', { signatureBundle: signed.bundle, derivedFrom: ids.tickets, transformation: 'first two records dropped' });
    const transform = details(entries('data.dataset.transform').at(-1)!).lineageEvent;
    const evaluated = await t.admin('POST', `/admin/v1/datasets/${ids.tickets}/evaluate`, { model: 'tiny-llm', metrics: { accuracy: 0.8 } });
    assert.equal(details(entries('data.dataset.evaluate').at(-1)!).lineageEvent, evaluated.lineageEvent);
    for (const digest of [transform, evaluated.lineageEvent]) await until(`${String(digest)} at the receiver`, () => receiver.events.some((e) => lineageDigest(e) === digest));
    const jobs = receiver.events.filter((e) => [transform, evaluated.lineageEvent].includes(lineageDigest(e))).map((e) => e.job.name).sort();
    assert.deepEqual(jobs, ['data.dataset.transform', 'evaluate.tiny-llm']);
  });

  test('while the endpoint fails, each failure is in the ledger and the event stays queued; then every event arrives', async () => {
    receiver.failWith = 503;
    const before = receiver.events.length;
    await t.admin('POST', `/admin/v1/datasets/${ids.other}/retire`, {});
    const retired = (await lineage(ids.other!)).at(-1)!;
    await until('a recorded push failure', () => entries('data.lineage.push').some((e) => details(e).lineageEvent === retired.digest));
    const failure = entries('data.lineage.push').find((e) => details(e).lineageEvent === retired.digest)!;
    assert.equal(failure.decision, 'deny');
    assert.equal(failure.errorCode, 'lineage_push_failed');
    assert.match(String(details(failure).reason), /HTTP 503/);
    assert.equal(details(failure).tries, 2, 'bounded: two tries per drain');
    await until('the sweep retrying', () => receiver.refused >= 4);
    assert.equal(receiver.events.length, before, 'nothing was taken while failing');

    receiver.failWith = null;
    await until('the queued event delivered', () => receiver.events.some((e) => lineageDigest(e) === retired.digest));
    const all = new Set(receiver.events.map((e) => lineageDigest(e)));
    for (const id of [ids.tickets!, ids.other!]) for (const l of await lineage(id)) assert.ok(all.has(l.digest), `${l.event.eventType} ${l.event.job.name} was delivered`);
  });
});
