// Right to erasure for dataset records (issue 16) against a real gateway (real TLS, SQLite, ledger, PDP): a dataset
// registered with a subject field names each record's data subject; `warden erase SUBJECT` counts that subject's
// records in the one `principal.erase` entry and withholds them from then on: the data read API answers their index
// with `erased: true` and no content (the others' proofs still hold), and counts them in the read's ledger entry.
// Another subject's records, and a dataset that declares no subject field, are served as before. A declared dataset
// that can no longer be read as signed refuses the erasure (fail closed): nothing is erased.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signDataset } from '../../../src/data/datasets/sign-dataset.js';
import { pemSigner } from '../../../src/workload/signing/keys.js';
import { runWarden } from '../../helpers/proc.js';
import { startTestWarden, type TestWarden } from '../../helpers/warden.js';

const tmp = mkdtempSync(join(tmpdir(), 'warden-erase-records-'));
const pair = generateKeyPairSync('ed25519');
const signer = pemSigner(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
const OWNERS = ['erin', 'finn', 'erin', 'gail', 'erin', 'finn'];
const LINES = OWNERS.map((who, i) => JSON.stringify({ customer: who, text: `ticket ${i} from ${who}` }));
const CSV = 'id,customer,note\r\n1,finn,"erin, said finn"\r\n2,erin,plain\r\n';

describe('erasing a data subject withholds its dataset records', () => {
  let t: TestWarden;
  let token = '';
  let tenant = '';
  const ids: Record<string, string> = {};
  const read = (id: string, query: string) => t.call('inference', 'GET', `/v1/datasets/${id}/records?${query}`, { key: token });
  const env = () => ({ WARDEN_ADMIN_URL: t.w.adminUrl, WARDEN_CA: t.w.caPemPath, WARDEN_ADMIN_KEY: t.adminKey, WARDEN_MFA_TOKEN: '' });

  async function admit(name: string, subjectField?: string): Promise<void> {
    const dir = join(tmp, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'train.jsonl'), LINES.join('\n') + '\n');
    writeFileSync(join(dir, 'people.csv'), CSV);
    const meta = { name, version: '1', source: 'vendor', owner: 'o', licence: 'CC0-1.0', classification: 'internal', categories: ['pii'], retention: 'P30D' };
    const signed = await signDataset(dir, meta, signer);
    const d = await t.admin('POST', '/admin/v1/datasets', { signatureBundle: signed.bundle, ...(subjectField !== undefined ? { subjectField } : {}) });
    await t.admin('POST', `/admin/v1/datasets/${d.id}/verify`, { path: dir });
    ids[name] = d.id;
    tenant = d.tenant;
  }

  before(async () => {
    t = await startTestWarden();
    await t.admin('POST', '/admin/v1/data-sources', { id: 'vendor', publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }), owner: 'vendor@acme' });
    await admit('tickets', 'customer');
    await admit('plain');
    for (const who of ['erin', 'finn']) await t.keyFor(who, ['demo-chat'], ['chat'], { tenant });
    token = (await t.admin('POST', '/admin/v1/training-tokens', { model: 'tiny-llm', datasets: [ids.tickets, ids.plain] })).access_token;
  });
  after(async () => {
    await t?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the subject field is stored with the dataset and shown; a bad one is refused', async () => {
    const shown = await runWarden(['data', 'show', ids.tickets!], env());
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /subjectField:? +customer/);
    assert.equal((await t.admin('GET', `/admin/v1/datasets/${ids.plain}`)).subjectField, null);
    const bad = await t.call('admin', 'POST', '/admin/v1/datasets', { key: t.adminKey, body: { signatureBundle: {}, subjectField: 'a\nb' } });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.error.code, 'invalid_field');
  });

  test('erase: counted once in the ledger and the answer; then withheld on read, the rest served; again: 0', async () => {
    const before = await read(ids.tickets!, 'file=train.jsonl');
    assert.equal(before.status, 200, before.text);
    assert.deepEqual(before.json.records.map((r: { text: string }) => r.text), LINES, "erin's records are served before the erasure");

    const erased = await runWarden(['erase', 'erin'], env());
    assert.equal(erased.code, 0, erased.stderr);
    // train.jsonl: records 0, 2, 4; people.csv: record 2 (record 1 names erin only in its note, not its customer column).
    assert.match(erased.stdout, /, 4 dataset record\(s\) withheld, API keys revoked\n$/);
    const entry = t.audits().filter((a) => a.action === 'principal.erase').at(-1)!;
    assert.equal((entry.details as Record<string, number>).datasetRecordsErased, 4);

    const after = await read(ids.tickets!, 'file=train.jsonl');
    assert.equal(after.status, 200, after.text);
    assert.deepEqual(after.json.records, OWNERS.map((who, i) => (who === 'erin' ? { index: i, erased: true } : { index: i, line: i + 1, text: LINES[i] })));
    assert.equal(after.json.total, 6);
    assert.doesNotMatch(after.text, /from erin/);
    const readEntry = t.audits().filter((a) => a.action === 'data.dataset.read').at(-1)!;
    assert.deepEqual([readEntry.decision, (readEntry.details as Record<string, number>).withheld, (readEntry.details as Record<string, number>).count], ['allow', 3, 6]);

    const csv = await read(ids.tickets!, 'file=people.csv');
    assert.deepEqual(csv.json.records.map((r: { index: number; erased?: boolean; text?: string }) => r.erased ? `${r.index}:erased` : `${r.index}:${r.text}`),
      ['0:id,customer,note', '1:1,finn,"erin, said finn"', '2:erased']);

    // A dataset without a subject field is untouched; so is a read that holds no erased record.
    const plain = await read(ids.plain!, 'file=train.jsonl');
    assert.deepEqual(plain.json.records.map((r: { text: string }) => r.text), LINES);
    assert.equal((t.audits().filter((a) => a.action === 'data.dataset.read').at(-1)!.details as Record<string, unknown>).withheld, undefined);

    const again = await runWarden(['erase', 'erin', '--json'], env());
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).dataset_records_erased, 0, 'already withheld: nothing new');

    // Another subject: only its own records go.
    const finn = JSON.parse((await runWarden(['erase', 'finn', '--json'], env())).stdout);
    assert.equal(finn.dataset_records_erased, 3);
    const last = await read(ids.tickets!, 'file=train.jsonl&offset=3&limit=1');
    assert.deepEqual(last.json.records, [{ index: 3, line: 4, text: LINES[3] }], "gail's record is still served");
  });

  test('fails closed: a declared dataset whose file no longer matches its signed root refuses the erasure, which erases nothing', async () => {
    await admit('broken', 'customer');
    const gail = await t.keyFor('gail', ['demo-chat'], ['chat'], { tenant });
    appendFileSync(join(tmp, 'broken', 'train.jsonl'), JSON.stringify({ customer: 'gail', text: 'added after signing' }) + '\n');
    const r = await t.call('admin', 'POST', '/admin/v1/principals/gail/erase', { key: t.adminKey, body: {} });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error.code, 'dataset_changed_on_disk');
    assert.equal(t.audits().filter((a) => a.action === 'principal.erase' && (a.resource as { id?: string } | undefined)?.id === 'gail' && a.decision === 'allow').length, 0, 'no erasure recorded');
    const chat = await t.call('inference', 'POST', '/v1/chat/completions', { key: gail.key, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'still here' }] } });
    assert.equal(chat.status, 200, 'gail was not erased: her key still works');
  });
});
