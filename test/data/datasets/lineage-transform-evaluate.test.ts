// Transform and evaluate jobs in the lineage, against a real gateway (real TLS, SQLite, ledger, PDP) and the real
// CLI: a dataset registered as derived from another is a `data.dataset.transform` run (parent version → new
// version) chained into the ledger, and `data lineage` of the new dataset reaches back through the parent to the
// parent's source; `warden model evaluate` asks the PDP evaluateOn and records an `evaluate.<model>` run (inputs the
// model and the dataset, the metrics in a facet). Every refusal (unknown or retired parent, unverified dataset,
// a policy deny, a caller without manageDatasets, bad bodies) is checked, with its ledger entry. The parent of
// another tenant is refused on a real SQLite registry (an admin of a second tenant needs MFA through an IdP).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AuditEvent, Principal } from '../../../src/core/types.js';
import { DatasetRegistry } from '../../../src/data/datasets/registry.js';
import { signDataset, writeDatasetSignature } from '../../../src/data/datasets/sign-dataset.js';
import { lineageDigest, type LineageEvent } from '../../../src/data/lineage/openlineage.js';
import { SqliteDatasetsStore } from '../../../src/store/datasets-sqlite.js';
import { openSqlite } from '../../../src/store/sqlite.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';
import { runWarden } from '../../helpers/proc.js';
import { startTestWarden, type TestWarden } from '../../helpers/warden.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-lineage-te-'));
const pair = generateKeyPairSync('ed25519');
const signer = pemSigner(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const publicKey = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
after(() => rmSync(tmp, { recursive: true, force: true }));

async function signed(name: string, version: string, classification = 'internal') {
  const dir = join(tmp, `${name}-${version}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.jsonl'), Array.from({ length: 6 }, (_, i) => JSON.stringify({ text: `${name} ${version} ticket ${i}`, label: i % 2 ? 'a' : 'b' })).join('\n') + '\n');
  const s = await signDataset(dir, { name, version, source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification, categories: [], retention: 'P30D' }, signer);
  await writeDatasetSignature(s, join(dir, 'dataset.sig'), join(dir, 'dataset.records'));
  return { dir, bundle: s.bundle };
}

describe('lineage of transform and evaluate jobs', () => {
  let t: TestWarden;
  let env: Record<string, string>;
  const audits = (action: string) => t.audits().filter((a) => a.action === action);
  const lastEntry = (action: string) => audits(action).at(-1)!;
  let raw = '';

  before(async () => {
    t = await startTestWarden();
    env = { WARDEN_ADMIN_URL: t.w.adminUrl, WARDEN_CA: t.w.caPemPath, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_MFA_TOKEN: '' };
    await t.admin('POST', '/admin/v1/data-sources', { id: 'vendor', publicKey, owner: 'vendor@acme' });
    const r = await signed('raw', '1');
    raw = (await t.admin('POST', '/admin/v1/datasets', { signatureBundle: r.bundle })).id as string;
    await t.admin('POST', `/admin/v1/datasets/${raw}/verify`, { path: r.dir });
  });
  after(async () => {
    await t?.stop();
  });

  test('register --derived-from (CLI): a transform run parent -> child in the ledger; lineage reaches the parent\'s source', async () => {
    const c = await signed('clean', '1');
    const reg = await runWarden(['data', 'register', c.dir, '--derived-from', raw, '--transformation', 'dropped duplicates', '--json'], env);
    assert.equal(reg.code, 0, reg.stderr);
    const child = JSON.parse(reg.stdout).id as string;
    const entry = lastEntry('data.dataset.transform');
    assert.equal(entry.decision, 'allow');
    const details = entry.details as Record<string, string>;
    assert.equal(details.derivedFrom, raw);
    assert.equal((lastEntry('data.dataset.register').details as Record<string, string>).derivedFrom, raw);

    // The child's lineage: its own register and the transform, and the parent's register and verify (back to the source).
    const lineage = await t.admin('GET', `/admin/v1/datasets/${child}/lineage`);
    const events = lineage.events as { digest: string; event: LineageEvent }[];
    assert.deepEqual(events.map((e) => `${e.event.job.name} ${e.event.outputs.map((o) => o.name).join(',')}`).sort(), ['data.dataset.register clean@1', 'data.dataset.register raw@1', 'data.dataset.transform clean@1', 'data.dataset.verify raw@1']);
    const transform = events.find((e) => e.event.job.name === 'data.dataset.transform')!;
    assert.equal(transform.digest, details.lineageEvent, 'the ledger entry names the stored event');
    assert.equal(lineageDigest(transform.event), transform.digest);
    assert.deepEqual(transform.event.inputs.map((i) => [i.name, i.facets?.warden_dataset?.id]), [['raw@1', raw]]);
    assert.deepEqual(transform.event.outputs.map((o) => [o.name, o.facets?.warden_dataset?.id]), [['clean@1', child]]);
    assert.equal(transform.event.run.facets.warden_transform?.description, 'dropped duplicates');
    // The graph: source -> raw -> clean, as Mermaid (the API) and DOT (the CLI).
    assert.match(lineage.mermaid, /src_vendor -->\|"data\.dataset\.register [^"]*"\| ds_raw_1/);
    assert.match(lineage.mermaid, /ds_raw_1 -->\|"data\.dataset\.transform [^"]*"\| ds_clean_1/);
    const dot = await runWarden(['data', 'lineage', child, '--format', 'dot'], env);
    assert.equal(dot.code, 0, dot.stderr);
    assert.match(dot.stdout, /ds_raw_1 -> ds_clean_1 \[label="data\.dataset\.transform /);
    // The parent's lineage shows what was derived from it, and does not pull in the child's own register.
    const parent = (await t.admin('GET', `/admin/v1/datasets/${raw}/lineage`)).events as { digest: string; event: LineageEvent }[];
    assert.ok(parent.some((e) => e.digest === transform.digest));
    assert.ok(!parent.some((e) => e.event.job.name === 'data.dataset.register' && e.event.outputs[0]!.name === 'clean@1'));
  });

  test('a derived dataset: unknown parent 404, retired parent 409, bad bodies 400, each refusal in the ledger; nothing registered', async () => {
    const post = (body: Record<string, unknown>) => t.call('admin', 'POST', '/admin/v1/datasets', { key: t.adminKey, body });
    const x = await signed('derived', '1');
    const unknown = await post({ signatureBundle: x.bundle, derivedFrom: 'ds_nope' });
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal(unknown.json.error.code, 'dataset_not_found');
    assert.equal(lastEntry('data.dataset.transform').errorCode, 'dataset_not_found');
    for (const body of [{ signatureBundle: x.bundle, derivedFrom: 7 }, { signatureBundle: x.bundle, derivedFrom: '' }, { signatureBundle: x.bundle, transformation: 'no parent' }, { signatureBundle: x.bundle, derivedFrom: raw, transformation: 'x'.repeat(2001) }]) {
      const r = await post(body);
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
      assert.equal(r.json.error.code, 'invalid_field');
    }
    // A retired parent feeds nothing new.
    const old = await signed('old', '1');
    const oldId = (await t.admin('POST', '/admin/v1/datasets', { signatureBundle: old.bundle })).id as string;
    await t.admin('POST', `/admin/v1/datasets/${oldId}/retire`, {});
    const retired = await post({ signatureBundle: x.bundle, derivedFrom: oldId });
    assert.equal(retired.status, 409, retired.text);
    assert.equal(retired.json.error.code, 'dataset_parent_retired');
    assert.equal(lastEntry('data.dataset.transform').errorCode, 'dataset_parent_retired');
    assert.deepEqual((await t.admin('GET', '/admin/v1/datasets?name=derived')).data, [], 'no dataset was registered by a refused call');
    // The CLI refuses --transformation without --derived-from before calling.
    const cli = await runWarden(['data', 'register', x.dir, '--transformation', 'x'], env);
    assert.equal(cli.code, 2, cli.stderr);
  });

  test('model evaluate (CLI): evaluateOn allowed, an evaluate.<model> run with the metrics, in the ledger and the lineage', async () => {
    const metrics = join(tmp, 'metrics.json');
    writeFileSync(metrics, JSON.stringify({ accuracy: 0.91, f1: 0.88 }));
    const r = await runWarden(['model', 'evaluate', 'tiny-llm', '--dataset', raw, '--metrics', metrics, '--family', 'llama'], env);
    assert.equal(r.code, 0, r.stderr);
    const said = /evaluated tiny-llm on raw@1: accuracy=0\.91 f1=0\.88 \(policy ([^;]+); lineage event (sha256:[0-9a-f]{64})\)/.exec(r.stdout);
    assert.ok(said, r.stdout);
    assert.match(said[1]!, /models-evaluate-on-public-and-internal-data/);
    const entry = lastEntry('data.dataset.evaluate');
    assert.equal(entry.decision, 'allow');
    const details = entry.details as Record<string, string>;
    assert.equal(details.lineageEvent, said[2]);
    assert.equal(details.model, 'tiny-llm');
    assert.deepEqual(JSON.parse(details.metrics!), { accuracy: 0.91, f1: 0.88 });
    const events = (await t.admin('GET', `/admin/v1/datasets/${raw}/lineage`)).events as { digest: string; event: LineageEvent }[];
    const ev = events.find((e) => e.digest === said[2]);
    assert.ok(ev, 'the event is stored under the digest the ledger names');
    assert.equal(lineageDigest(ev.event), ev.digest);
    assert.equal(ev.event.job.name, 'evaluate.tiny-llm');
    assert.equal(ev.event.eventType, 'COMPLETE');
    assert.deepEqual(ev.event.inputs.map((i) => `${i.namespace}/${i.name}`), ['warden-model/tiny-llm', 'warden-dataset/raw@1']);
    assert.deepEqual(ev.event.outputs, []);
    assert.deepEqual(ev.event.run.facets.warden_evaluation, { _producer: ev.event.producer, _schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet', model: 'tiny-llm', metrics: { accuracy: 0.91, f1: 0.88 } });
    const text = await runWarden(['data', 'lineage', raw], env);
    assert.match(text.stdout, /evaluate\.tiny-llm +model tiny-llm on raw@1 \(verified, sha256:[0-9a-f]{12}…\): accuracy=0\.91 f1=0\.88 +by admin/);
  });

  test('evaluate refusals: unverified 409, evaluateOn denied 403, tenant isolation, no manageDatasets 403, bad bodies 400, unknown 404', async () => {
    const post = (id: string, body: unknown, key = t.adminKey) => t.call('admin', 'POST', `/admin/v1/datasets/${id}/evaluate`, { key, body });
    const good = { model: 'tiny-llm', metrics: { accuracy: 0.5 } };
    const before = audits('data.dataset.evaluate').filter((a) => a.decision === 'allow').length;
    // Registered but not verified.
    const u = await signed('unverified', '1');
    const uid = (await t.admin('POST', '/admin/v1/datasets', { signatureBundle: u.bundle })).id as string;
    const unverified = await post(uid, good);
    assert.equal(unverified.status, 409, unverified.text);
    assert.equal(unverified.json.error.code, 'invalid_transition');
    assert.equal(lastEntry('data.dataset.evaluate').errorCode, 'invalid_transition');
    // Confidential: no starter policy lets a model be evaluated on it.
    const s = await signed('secret', '1', 'confidential');
    const sid = (await t.admin('POST', '/admin/v1/datasets', { signatureBundle: s.bundle })).id as string;
    await t.admin('POST', `/admin/v1/datasets/${sid}/verify`, { path: s.dir });
    const denied = await post(sid, good);
    assert.equal(denied.status, 403, denied.text);
    assert.equal(denied.json.error.code, 'evaluate_on_denied');
    assert.equal(lastEntry('data.dataset.evaluate').decision, 'deny');
    // A model of another tenant: dataset-tenant-isolation.
    const cross = await post(raw, { ...good, tenant: (await t.admin('GET', `/admin/v1/datasets/${raw}`)).tenant === 'globex' ? 'acme' : 'globex' });
    assert.ok(cross.status === 403, cross.text);
    assert.ok(['evaluate_on_denied', 'cross_tenant_denied'].includes(cross.json.error.code), cross.text);
    // A consumer (no manageDatasets) is refused by the admin listener's PDP.
    const consumer = await t.keyFor('carol', ['*'], ['*']);
    const noPerm = await post(raw, good, consumer.key);
    assert.equal(noPerm.status, 403, noPerm.text);
    // Bad bodies, and an unknown dataset.
    for (const body of [{ metrics: { a: 1 } }, { model: 'tiny-llm' }, { model: 'tiny-llm', metrics: [] }, { model: 'tiny-llm', metrics: {} }, { model: 'tiny-llm', metrics: { a: 'high' } }, { model: 'tiny-llm', metrics: { 'bad name': 1 } }, { model: 'bad model!', metrics: { a: 1 } }]) {
      const r = await post(raw, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.json.error.code, /^(missing_field|invalid_field)$/);
    }
    const unknown = await post('ds_nope', good);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'dataset_not_found');
    assert.equal(audits('data.dataset.evaluate').filter((a) => a.decision === 'allow').length, before, 'no refused evaluation was recorded as one');
    const cli = await runWarden(['model', 'evaluate', 'tiny-llm', '--dataset', raw], env);
    assert.equal(cli.code, 2, 'the CLI needs --metrics');
  });
});

test('registry: a parent of another tenant is not found (not revealed), recorded; an evaluation from another tenant finds nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-lineage-te-reg-'));
  try {
    const audits: AuditEvent[] = [];
    const reg = new DatasetRegistry({ store: new SqliteDatasetsStore(openSqlite(join(dir, 'warden.db'))), audit: (e) => void audits.push(e) });
    const admin = (id: string, tenant: string): Principal => ({ kind: 'user', id, tenant, groups: ['admins'], authn: { method: 'api_key', credentialId: `key_${id}` }, scope: { models: ['*'], actions: ['*'] }, admin: true });
    const acme = admin('alice', 'acme');
    const globex = admin('gina', 'globex');
    for (const a of [acme, globex]) await reg.registerSource(a, { id: 'vendor', publicKey, owner: 'v' });
    const p = await signed('acme-raw', '1');
    const parent = await reg.register(acme, p.bundle);
    const c = await signed('globex-derived', '1');
    await assert.rejects(reg.register(globex, c.bundle, { parentId: parent.id }), { code: 'dataset_not_found', status: 404 });
    const refusal = audits.filter((a) => a.action === 'data.dataset.transform').at(-1)!;
    assert.equal(refusal.decision, 'deny');
    assert.equal(refusal.errorCode, 'dataset_not_found');
    assert.deepEqual(await reg.list('globex'), [], 'nothing was registered');
    let asked = false;
    const decide = () => ((asked = true), { allow: true, policyIds: ['p'], policyVersion: 'v', obligations: [], reasons: [] });
    await assert.rejects(reg.evaluate(globex, parent.id, { model: 'm', tenant: 'globex' }, { a: 1 }, decide), { code: 'dataset_not_found' });
    assert.equal(asked, false, 'the PDP was not even asked from the other tenant');
    // From its own tenant the derived registration works and the parent's lineage reaches both.
    const own = await reg.register(acme, (await signed('acme-derived', '1')).bundle, { parentId: parent.id });
    assert.deepEqual((await reg.lineageOf(own.id, 'acme')).map((l) => l.event.job.name).sort(), ['data.dataset.register', 'data.dataset.register', 'data.dataset.transform']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
