// Least privilege for training pipelines against a real gateway (real TLS, SQLite, ledger, PDP): a training
// token is issued only after trainOn allows the model on every dataset it names; it reads records of those
// datasets on the inference listener and nothing else; each read, allowed or refused, is a ledger entry; a
// record changed on disk after verification is refused, as are retired datasets, other credentials, bad
// parameters and revoked tokens. An exchanged training token keeps its dataset ceiling.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signDataset, writeDatasetSignature } from '../../../src/data/datasets/sign-dataset.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';
import { runWarden } from '../../helpers/proc.js';
import { startTestWarden, type TestWarden } from '../../helpers/warden.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-training-access-'));
const pair = generateKeyPairSync('ed25519');
const signer = pemSigner(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const LINES = Array.from({ length: 20 }, (_, i) => JSON.stringify({ text: `ticket ${i} about billing`, label: i % 2 ? 'billing' : 'other' }));

function write(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.jsonl'), LINES.join('\n') + '\n');
  writeFileSync(join(dir, 'features.csv'), 'id,note\r\n1,"two\r\nlines"\r\n2,plain\r\n');
  writeFileSync(join(dir, 'README.txt'), 'not a record file');
  return dir;
}

/**
 * The RunEvent's required fields as the OpenLineage 2-0-2 spec (OpenLineage.json, $defs RunEvent, Run, Job,
 * Dataset, BaseFacet) states them. No npm package ships the schema, so this checks its required fields and
 * formats by hand rather than validating against the schema file.
 */
function assertRunEvent(e: Record<string, any>): void {
  assert.ok(['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER'].includes(e.eventType));
  assert.ok(!Number.isNaN(Date.parse(e.eventTime)) && /T.*Z$/.test(e.eventTime), 'eventTime is an RFC 3339 date-time');
  for (const uri of [e.producer, e.schemaURL]) assert.ok(URL.canParse(uri), `${uri} is a URI`);
  assert.match(e.schemaURL, /^https:\/\/openlineage\.io\/spec\/2-0-2\/OpenLineage\.json#\/\$defs\/RunEvent$/);
  assert.match(e.run.runId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(typeof e.job.namespace, 'string');
  assert.equal(typeof e.job.name, 'string');
  const facets = [...Object.values(e.run.facets ?? {}), ...[...e.inputs, ...e.outputs].flatMap((d: { namespace: string; name: string; facets?: object }) => {
    assert.equal(typeof d.namespace, 'string');
    assert.equal(typeof d.name, 'string');
    return Object.values(d.facets ?? {});
  })] as { _producer: string; _schemaURL: string }[];
  for (const f of facets) assert.ok(URL.canParse(f._producer) && URL.canParse(f._schemaURL), 'every facet names its producer and schema');
}

describe('training tokens and the data read API', () => {
  let t: TestWarden;
  const ids: Record<string, string> = {};
  const dirs: Record<string, string> = {};
  let token = '';
  const read = (id: string, query: string, key = token) => t.call('inference', 'GET', `/v1/datasets/${id}/records?${query}`, { key });
  const lastEntry = (action: string) => t.audits().filter((a) => a.action === action).at(-1)!;

  async function admit(name: string, classification: string): Promise<void> {
    const dir = write(name);
    const meta = { name, version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification, categories: [], retention: 'P30D' };
    const signed = await signDataset(dir, meta, signer);
    const d = await t.admin('POST', '/admin/v1/datasets', { signatureBundle: signed.bundle });
    await t.admin('POST', `/admin/v1/datasets/${d.id}/verify`, { path: dir });
    ids[name] = d.id;
    dirs[name] = dir;
  }

  before(async () => {
    t = await startTestWarden();
    await t.admin('POST', '/admin/v1/data-sources', { id: 'vendor', publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }), owner: 'vendor@acme' });
    await admit('tickets', 'internal');
    await admit('other', 'public');
    await admit('secret', 'confidential');
  });
  after(async () => {
    await t?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('issue (CLI): trainOn is asked for every dataset, the token names them; reads are served, proven and in the ledger', async () => {
    const env = { WARDEN_ADMIN_URL: t.w.adminUrl, WARDEN_CA: t.w.caPemPath, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_MFA_TOKEN: '' };
    const issued = await runWarden(['data', 'token', ids.tickets!, '--model', 'tiny-llm', '--family', 'llama', '--ttl', '600'], env);
    assert.equal(issued.code, 0, issued.stderr);
    token = issued.stdout.trim();
    assert.match(token, /^ey[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.match(issued.stderr, new RegExp(`training token for model:tiny-llm: reads ${ids.tickets} for 600 s`));
    assert.equal(lastEntry('data.dataset.trainOn').decision, 'allow');
    const issue = lastEntry('data.trainingToken.issue');
    assert.equal(issue.decision, 'allow');
    assert.equal((issue.details as Record<string, string>).datasets, ids.tickets);

    // The training run is a lineage event (OpenLineage START, datasets -> model, run id = the token's jti), chained into
    // the ledger by the digest in the issue entry; exported as RunEvents one per line, and as DOT.
    const jti = (issue.details as Record<string, string>).jti!;
    const ol = await runWarden(['data', 'lineage', ids.tickets!, '--format', 'openlineage'], env);
    assert.equal(ol.code, 0, ol.stderr);
    const events = ol.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    assert.deepEqual(events.map((e) => `${e.eventType} ${e.job.name}`), ['COMPLETE data.dataset.register', 'COMPLETE data.dataset.verify', 'START train.tiny-llm']);
    const train = events[2]!;
    assert.equal(train.run.runId, jti);
    assert.deepEqual(train.inputs.map((i: { namespace: string; name: string }) => `${i.namespace}/${i.name}`), ['warden-dataset/tickets@1']);
    assert.deepEqual(train.outputs, [{ namespace: 'warden-model', name: 'tiny-llm' }]);
    const { lineageDigest } = await import('../../../src/data/lineage/openlineage.js');
    assert.equal(lineageDigest(train as never), (issue.details as Record<string, string>).lineageEvent, 'the exported event is the one the ledger entry names');
    for (const e of events) assertRunEvent(e);
    const dot = await runWarden(['data', 'lineage', ids.tickets!, '--format', 'dot'], env);
    assert.equal(dot.code, 0, dot.stderr);
    assert.match(dot.stdout, /^digraph lineage \{\n {2}rankdir=LR;\n {2}src_vendor \[label="source vendor", shape=cylinder\];\n {2}ds_tickets_1 \[label="dataset tickets@1", shape=box\];\n {2}mdl_tiny_llm \[label="model tiny-llm", shape=ellipse\];/);
    assert.match(dot.stdout, /\n {2}ds_tickets_1 -> mdl_tiny_llm \[label="train\.tiny-llm [^"]+"\];\n\}\n$/);
    assert.match((await runWarden(['data', 'lineage', ids.tickets!], env)).stdout, /train\.tiny-llm +tickets@1 \(verified, sha256:[0-9a-f]{12}…\) -> model tiny-llm {2}by \S+/);
    assert.equal((await runWarden(['data', 'lineage', ids.tickets!, '--format', 'svg'], env)).code, 2);

    const r = await read(ids.tickets!, 'file=train.jsonl&offset=5&limit=3');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.records, [5, 6, 7].map((i) => ({ index: i, line: i + 1, text: LINES[i] })));
    assert.equal(r.json.total, 20);
    assert.equal(r.json.next, 8);
    assert.match(r.json.root, /^[0-9a-f]{64}$/);
    const entry = lastEntry('data.dataset.read');
    assert.equal(entry.decision, 'allow');
    assert.equal(entry.requestId, r.headers['x-request-id']);
    assert.deepEqual(entry.policyIds, ['models-train-on-public-and-internal-data']);
    assert.deepEqual((entry.principal as { id: string; authn: string }).id, 'model:tiny-llm');
    assert.equal((entry.principal as { authn: string }).authn, 'jit_token');
    assert.deepEqual({ file: (entry.details as Record<string, unknown>).file, offset: (entry.details as Record<string, unknown>).offset, count: (entry.details as Record<string, unknown>).count }, { file: 'train.jsonl', offset: 5, count: 3 });

    // CSV: the header is record 0; a quoted line break stays inside its record; the last page has no next.
    const c = await read(ids.tickets!, 'file=features.csv');
    assert.equal(c.status, 200, c.text);
    assert.deepEqual(c.json.records.map((x: { text: string; line: number }) => [x.line, x.text]), [[1, 'id,note'], [2, '1,"two\r\nlines"'], [4, '2,plain']]);
    assert.equal(c.json.next, null);
  });

  test('the token is a ceiling: another dataset, a non-record file, bad parameters and other credentials are refused and audited', async () => {
    const other = await read(ids.other!, 'file=train.jsonl');
    assert.equal(other.status, 403);
    assert.equal(other.json.error.code, 'dataset_not_in_token_scope');
    const entry = lastEntry('data.dataset.read');
    assert.equal(entry.decision, 'deny');
    assert.equal(entry.errorCode, 'dataset_not_in_token_scope');
    assert.equal(t.audits().filter((a) => a.requestId === other.headers['x-request-id']).length, 1, 'exactly one entry for the refusal');

    const notRecords = await read(ids.tickets!, 'file=README.txt');
    assert.equal(notRecords.status, 404);
    assert.equal(notRecords.json.error.code, 'dataset_file_not_found');
    for (const q of ['file=train.jsonl&limit=0', 'file=train.jsonl&limit=5000', 'file=train.jsonl&offset=-1', 'limit=3']) {
      const bad = await read(ids.tickets!, q);
      assert.equal(bad.status, 400, q);
      assert.match(bad.json.error.code, /^(invalid_field|missing_field)$/);
    }
    // The admin's API key may do everything an admin does, but it is not a training token.
    const admin = await read(ids.tickets!, 'file=train.jsonl', t.adminKey);
    assert.equal(admin.status, 403);
    assert.equal(admin.json.error.code, 'training_token_required');
    const anonymous = await t.call('inference', 'GET', `/v1/datasets/${ids.tickets}/records?file=train.jsonl`);
    assert.equal(anonymous.status, 401);
    // Past the end: an empty page.
    const end = await read(ids.tickets!, 'file=train.jsonl&offset=20');
    assert.equal(end.status, 200);
    assert.deepEqual(end.json.records, []);
    assert.equal(end.json.next, null);
  });

  test('no token for a dataset trainOn denies: a confidential dataset no policy names', async () => {
    const r = await t.call('admin', 'POST', '/admin/v1/training-tokens', { key: t.adminKey, body: { model: 'tiny-llm', datasets: [ids.tickets, ids.secret] } });
    assert.equal(r.status, 403);
    assert.equal(r.json.error.code, 'train_on_denied');
    const denied = lastEntry('data.dataset.trainOn');
    assert.equal(denied.decision, 'deny');
    assert.equal((denied.resource as { id: string }).id, ids.secret);
    assert.ok(!t.audits().some((a) => a.action === 'data.trainingToken.issue' && String((a.details as Record<string, string>).datasets).includes(ids.secret!)), 'no token was issued');
    const empty = await t.call('admin', 'POST', '/admin/v1/training-tokens', { key: t.adminKey, body: { model: 'tiny-llm', datasets: [] } });
    assert.equal(empty.status, 400);
  });

  test('the token does nothing but trainOn, and an exchanged training token keeps its dataset ceiling', async () => {
    const models = await t.call('inference', 'GET', '/v1/models', { key: token });
    assert.equal(models.status, 200);
    assert.deepEqual(models.json.data, [], 'the training token may use no model');
    const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: token, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' });
    const ex = await t.call('inference', 'POST', '/v1/token', { body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(ex.status, 200, ex.text);
    const child = ex.json.access_token as string;
    assert.equal((await read(ids.tickets!, 'file=train.jsonl&limit=1', child)).status, 200);
    const widened = await read(ids.other!, 'file=train.jsonl&limit=1', child);
    assert.equal(widened.status, 403);
    assert.equal(widened.json.error.code, 'dataset_not_in_token_scope');
  });

  test('tenants: a model of another tenant gets no token (the PDP\'s dataset-tenant-isolation)', async () => {
    const home = (await t.admin('GET', `/admin/v1/datasets/${ids.tickets}`)).tenant as string;
    assert.ok(home.length > 0, 'the dataset records the registering admin\'s tenant');
    assert.notEqual(home, 'globex');
    // The home admin asks for a model of tenant globex: the PDP's dataset-tenant-isolation forbids it.
    const cross = await t.call('admin', 'POST', '/admin/v1/training-tokens', { key: t.adminKey, body: { model: 'tiny-llm', tenant: 'globex', datasets: [ids.tickets] } });
    assert.equal(cross.status, 403, cross.text);
    assert.equal(cross.json.error.code, 'train_on_denied');
    const entry = lastEntry('data.dataset.trainOn');
    assert.equal(entry.decision, 'deny');
    assert.match(String((entry.details as Record<string, string>).policyIds), /dataset-tenant-isolation/);
  });

  test('a token for a slice (a shard, a record range) reads only inside it; reads outside are refused and audited', async () => {
    const tok = await t.admin('POST', '/admin/v1/training-tokens', { model: 'tiny-llm', datasets: [], slices: [{ dataset: ids.tickets, files: ['train.jsonl'], records: { from: 5, to: 10 } }] });
    assert.deepEqual(tok.datasets, [ids.tickets]);
    assert.equal(tok.scope.length, 1);
    assert.match(tok.scope[0], new RegExp(`^${ids.tickets}#file=train\\.jsonl&from=5&to=10$`));
    const inside = await read(ids.tickets!, 'file=train.jsonl&offset=5&limit=100', tok.access_token);
    assert.equal(inside.status, 200, inside.text);
    assert.deepEqual(inside.json.records.map((r: { index: number }) => r.index), [5, 6, 7, 8, 9], 'clamped to the end of the slice');
    assert.equal(inside.json.next, null);
    assert.equal((await read(ids.tickets!, 'file=train.jsonl&offset=8&limit=1', tok.access_token)).json.next, 9);
    assert.equal(lastEntry('data.dataset.read').decision, 'allow');
    for (const [q, what] of [['file=train.jsonl&offset=4', 'before the range'], ['file=train.jsonl&offset=10', 'after the range'], ['file=features.csv', 'another shard']] as const) {
      const r = await read(ids.tickets!, q, tok.access_token);
      assert.equal(r.status, 403, `${what}: ${r.text}`);
      assert.equal(r.json.error.code, 'dataset_slice_denied');
      const e = lastEntry('data.dataset.read');
      assert.equal(e.decision, 'deny');
      assert.equal(e.errorCode, 'dataset_slice_denied');
    }
    assert.equal((await read(ids.other!, 'file=train.jsonl', tok.access_token)).json.error.code, 'dataset_not_in_token_scope');

    for (const slice of [{ dataset: ids.tickets, files: ['nope.jsonl'] }, { dataset: ids.tickets, records: { from: 3, to: 3 } }, { dataset: ids.tickets }, { dataset: ids.tickets, files: ['train.jsonl'], rows: 1 }]) {
      const bad = await t.call('admin', 'POST', '/admin/v1/training-tokens', { key: t.adminKey, body: { model: 'tiny-llm', datasets: [], slices: [slice] } });
      assert.equal(bad.status, 400, JSON.stringify(slice));
      assert.equal(bad.json.error.code, 'invalid_field');
    }

    // The CLI: --slice ID:records=FROM-TO (every record file, the first two records of each).
    const env = { WARDEN_ADMIN_URL: t.w.adminUrl, WARDEN_CA: t.w.caPemPath, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_MFA_TOKEN: '' };
    const issued = await runWarden(['data', 'token', '--slice', `${ids.tickets}:records=0-2`, '--model', 'tiny-llm'], env);
    assert.equal(issued.code, 0, issued.stderr);
    const csv = await read(ids.tickets!, 'file=features.csv', issued.stdout.trim());
    assert.equal(csv.status, 200, csv.text);
    assert.equal(csv.json.records.length, 2);
    assert.equal((await read(ids.tickets!, 'file=train.jsonl&offset=2', issued.stdout.trim())).status, 403);
  });

  test('data screen --dataset: the run is an OpenLineage event of the dataset, chained into the ledger; other files are refused', async () => {
    const env = { WARDEN_ADMIN_URL: t.w.adminUrl, WARDEN_CA: t.w.caPemPath, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_MFA_TOKEN: '' };
    // A dataset of text/label records only (the shared ones hold a CSV without text, which the screen refuses).
    const dir = join(tmp, 'screened');
    mkdirSync(dir);
    writeFileSync(join(dir, 'train.jsonl'), LINES.join('\n') + '\n');
    const signed = await signDataset(dir, { name: 'screened', version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification: 'internal', categories: [], retention: 'P30D' }, signer);
    await writeDatasetSignature(signed, join(dir, 'dataset.sig'), join(dir, 'dataset.records'));
    const id = (await t.admin('POST', '/admin/v1/datasets', { signatureBundle: signed.bundle })).id as string;
    await t.admin('POST', `/admin/v1/datasets/${id}/verify`, { path: dir });
    const screened = await runWarden(['data', 'screen', dir, '--dataset', id, '--json'], env);
    assert.ok(screened.stdout, screened.stderr);
    const report = JSON.parse(screened.stdout) as { records: number; alarms: string[]; checks: { name: string }[] };
    assert.equal(screened.code, report.alarms.length ? 1 : 0, screened.stderr);
    assert.equal(report.records, 20);
    const recorded = /screen recorded for (ds_\w+): lineage event (sha256:[0-9a-f]{64})/.exec(screened.stderr);
    assert.ok(recorded, screened.stderr);
    assert.equal(recorded[1], id);
    const entry = lastEntry('data.dataset.screen');
    assert.equal(entry.decision, 'allow');
    const details = entry.details as Record<string, string | number>;
    assert.equal(details.lineageEvent, recorded[2], 'the ledger entry names the lineage event');
    assert.equal(details.alarms, report.alarms.join(','));
    assert.equal(details.records, report.records);
    const lineage = await t.admin('GET', `/admin/v1/datasets/${id}/lineage`);
    const stored = (lineage.events as { digest: string; event: Record<string, any> }[]).find((e) => e.digest === recorded[2]);
    assert.ok(stored, 'the event is in the dataset\'s lineage under the digest the ledger holds');
    assertRunEvent(stored.event);
    const { lineageDigest } = await import('../../../src/data/lineage/openlineage.js');
    assert.equal(lineageDigest(stored.event as never), recorded[2]);
    assert.equal(stored.event.job.name, 'data.dataset.screen');
    assert.equal(stored.event.eventType, 'COMPLETE');
    assert.equal(stored.event.run.facets.warden_actor.principal, 'admin');
    assert.deepEqual(stored.event.inputs.map((i: { name: string; facets: { warden_dataset: { id: string } } }) => [i.name, i.facets.warden_dataset.id]), [['screened@1', id]]);
    assert.deepEqual(stored.event.run.facets.warden_screen.checks.map((c: { name: string }) => c.name), report.checks.map((c) => c.name));
    assert.match(lineage.text, /data\.dataset\.screen +screened@1 \(verified, sha256:[0-9a-f]{12}…\) screened: 20 record\(s\)/);

    // Files that are not the dataset's (one record changed): refused, in the ledger, nothing added to the lineage.
    const changed = join(tmp, 'screened-changed');
    mkdirSync(changed);
    writeFileSync(join(changed, 'train.jsonl'), LINES.map((l, i) => (i === 3 ? l.replace('billing', 'BILLING') : l)).join('\n') + '\n');
    const refused = await runWarden(['data', 'screen', changed, '--dataset', id], env);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /screen_digest_mismatch: the screened files hash to sha256:[0-9a-f]{64}, not to ds_\w+'s digest/);
    const denied = lastEntry('data.dataset.screen');
    assert.equal(denied.decision, 'deny');
    assert.equal(denied.errorCode, 'screen_digest_mismatch');
    assert.equal((await t.admin('GET', `/admin/v1/datasets/${id}/lineage`)).events.length, lineage.events.length);
    // Bad bodies and an unknown dataset.
    const post = (id: string, body: unknown) => t.call('admin', 'POST', `/admin/v1/datasets/${id}/screen`, { key: t.adminKey, body });
    const digest = stored.event.inputs[0].facets.warden_dataset.digest as string;
    for (const body of [{ report: { records: 1, baselineRecords: null, checks: [] } }, { digest: 'sha256:zz', report: { records: 1, baselineRecords: null, checks: [] } }, { digest }, { digest, report: { records: -1, baselineRecords: null, checks: [] } }, { digest, report: { records: 1, baselineRecords: null, checks: [{ name: 'x' }] } }]) {
      const r = await post(id, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.json.error.code, /^(missing_field|invalid_field)$/);
    }
    const unknown = await post('ds_nope', { digest, report: { records: 1, baselineRecords: null, checks: [] } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, 'dataset_not_found');
  });

  test('exchanging a sliced token: alone it keeps its slices; with a narrower actor a slice is dropped; a wider actor never widens it', async () => {
    const issue = async (body: Record<string, unknown>) => (await t.admin('POST', '/admin/v1/training-tokens', { model: 'tiny-llm', datasets: [], ...body })).access_token as string;
    const head = { dataset: ids.tickets, files: ['train.jsonl'], records: { from: 0, to: 5 } };
    const csv = { dataset: ids.tickets, files: ['features.csv'] };
    const subject = await issue({ slices: [head, csv] });
    const exchange = async (actor?: string) => {
      const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: subject, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token' });
      if (actor) for (const [k, v] of Object.entries({ actor_token: actor, actor_token_type: 'urn:ietf:params:oauth:token-type:access_token' })) form.set(k, v);
      const ex = await t.call('inference', 'POST', '/v1/token', { body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(ex.status, 200, ex.text);
      return ex.json.access_token as string;
    };
    const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()).datasets as string[];
    const sliceOf = (s: typeof head | typeof csv) => new RegExp(`^${ids.tickets}#${'records' in s ? 'file=train\\.jsonl&from=0&to=5' : 'file=features\\.csv'}$`);
    const refused = async (tok: string, q: string, code: string) => {
      const r = await read(ids.tickets!, q, tok);
      assert.equal(r.status, 403, `${q}: ${r.text}`);
      assert.equal(r.json.error.code, code);
      assert.equal(lastEntry('data.dataset.read').errorCode, code, 'the refusal is in the ledger');
    };

    // Kept: exchanged alone, the child carries both slices, exactly, and reads inside them only.
    const kept = await exchange();
    assert.deepEqual(claims(kept).sort(), claims(subject).sort());
    assert.equal(claims(kept).length, 2);
    assert.deepEqual((await read(ids.tickets!, 'file=train.jsonl&limit=100', kept)).json.records.map((r: { index: number }) => r.index), [0, 1, 2, 3, 4]);
    assert.equal((await read(ids.tickets!, 'file=features.csv', kept)).status, 200);
    await refused(kept, 'file=train.jsonl&offset=5', 'dataset_slice_denied');

    // Dropped: an actor holding only the head slice leaves the child only that slice.
    const dropped = await exchange(await issue({ slices: [head] }));
    assert.equal(claims(dropped).length, 1);
    assert.match(claims(dropped)[0]!, sliceOf(head));
    assert.equal((await read(ids.tickets!, 'file=train.jsonl&offset=4', dropped)).status, 200);
    await refused(dropped, 'file=features.csv', 'dataset_slice_denied');

    // Widen: an actor holding the whole dataset (and another one) does not turn a slice into the dataset.
    const wide = await exchange(await issue({ datasets: [ids.tickets, ids.other] }));
    assert.deepEqual(claims(wide), [], 'the intersection of slices and whole datasets is empty: nothing is widened');
    await refused(wide, 'file=train.jsonl&offset=0', 'dataset_not_in_token_scope');
    await refused(wide, 'file=train.jsonl&offset=10', 'dataset_not_in_token_scope');
    const other = await read(ids.other!, 'file=train.jsonl', wide);
    assert.equal(other.status, 403);
    assert.equal(other.json.error.code, 'dataset_not_in_token_scope');
    // Nor does exchanging the whole-dataset token with the sliced one as actor: the ceiling is the intersection.
    const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: await issue({ datasets: [ids.tickets] }), subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', actor_token: subject, actor_token_type: 'urn:ietf:params:oauth:token-type:access_token' });
    const reverse = await t.call('inference', 'POST', '/v1/token', { body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(reverse.status, 200, reverse.text);
    assert.deepEqual(claims(reverse.json.access_token), []);
    await refused(reverse.json.access_token, 'file=train.jsonl&offset=0', 'dataset_not_in_token_scope');
  });

  test('a record changed on disk after verification is refused; so are retired datasets and revoked tokens', async () => {
    const tok = await t.admin('POST', '/admin/v1/training-tokens', { model: 'tiny-llm', datasets: [ids.other] });
    const f = join(dirs.other!, 'train.jsonl');
    const orig = readFileSync(f, 'utf8');
    writeFileSync(f, orig.replace('ticket 3 about billing', 'ticket 3 about BILLING'));
    const changed = await read(ids.other!, 'file=train.jsonl', tok.access_token);
    assert.equal(changed.status, 409);
    assert.equal(changed.json.error.code, 'dataset_changed_on_disk');
    assert.equal(lastEntry('data.dataset.read').errorCode, 'dataset_changed_on_disk');
    writeFileSync(f, orig);
    assert.equal((await read(ids.other!, 'file=train.jsonl', tok.access_token)).status, 200, 'served again once the signed bytes are back');

    await t.admin('POST', `/admin/v1/datasets/${ids.other}/retire`, {});
    const retired = await read(ids.other!, 'file=train.jsonl', tok.access_token);
    assert.equal(retired.status, 409);
    assert.equal(retired.json.error.code, 'dataset_not_readable');

    await t.admin('POST', '/admin/v1/tokens/revoke', { token });
    const revoked = await read(ids.tickets!, 'file=train.jsonl');
    assert.equal(revoked.status, 401);
  });
});
