import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { openSqlite } from '../../src/store/sqlite.js';
import { SqlitePayloadStore } from '../../src/store/ledger-payloads-sqlite.js';
import { PayloadErased, PayloadTampered, PayloadVault } from '../../src/ledger/retention.js';
import { Keyring, KeyFileInsecure, LocalFileKek } from '../../src/data/crypto/index.js';
import { exportJsonLines } from '../../src/ledger/export-jsonl.js';
import { exportStatic } from '../../src/ledger/export-static.js';
import { auditVerify } from '../../src/ledger/audit-verify.js';
import { FixedClock } from '../../src/core/clock.js';
import { sha256Digest } from '../../src/core/digest.js';
import { inferenceEvent } from './events.js';
import { appendRange, openLedger, tmpDir } from './helpers.js';

test('erasing a principal destroys its data key: payloads unreadable, the tree still verifies', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = await openLedger(dir);
  const db = openSqlite(join(dir, 'warden.db'));
  const vault = new PayloadVault(new SqlitePayloadStore(db), new Keyring({ kek: LocalFileKek.open(join(dir, 'data-kek.bin'), { create: true }) }), new FixedClock(1_700_000_000_000));
  const prompt = Buffer.from('my email is alice@example.com, summarize my contract');
  for (let i = 0; i < 14; i++) {
    const e = inferenceEvent(i); // principal user-(i % 7)
    await ledger.append(e);
    await vault.put(e.principal!, e.requestId, 'request', i === 0 ? prompt : Buffer.from(`request ${i}`));
  }
  const alice = inferenceEvent(0).principal!.id;
  assert.deepEqual(await vault.get(alice, inferenceEvent(0).requestId, 'request'), prompt);
  // The ciphertext on disk does not contain the prompt.
  assert.equal(readFileSync(join(dir, 'warden.db')).includes(Buffer.from('alice@example.com')), false);

  const r = await vault.erase(alice);
  assert.deepEqual(r, { keyDestroyed: true, payloadsUnreadable: 2 });
  await assert.rejects(vault.get(alice, inferenceEvent(0).requestId, 'request'), PayloadErased);
  await assert.rejects(vault.put(inferenceEvent(0).principal!, 'req_new', 'request', Buffer.from('x')), { name: 'PayloadErased', status: 410 });
  // Other principals are unaffected.
  assert.deepEqual(await vault.get(inferenceEvent(1).principal!.id, inferenceEvent(1).requestId, 'request'), Buffer.from('request 1'));

  // The log still verifies end to end, and still binds the erased request by digest.
  const out = join(dir, 'export');
  await exportStatic(ledger, out);
  assert.equal((await auditVerify({ log: out, key: ledger.key.vkey })).size, 14);
  const [entry] = await ledger.readEntries(0, 1);
  assert.equal(JSON.parse(entry!.toString()).requestDigest, sha256Digest('request 0'));
  await ledger.close();

  // A ciphertext moved to another request, or altered, does not authenticate.
  db.prepare('UPDATE ledger_payloads SET request_id = ? WHERE request_id = ?').run('req_moved', inferenceEvent(1).requestId);
  await assert.rejects(vault.get(inferenceEvent(1).principal!.id, 'req_moved', 'request'), PayloadTampered);
  db.close();
  chmodSync(join(dir, 'data-kek.bin'), 0o640);
  assert.throws(() => LocalFileKek.open(join(dir, 'data-kek.bin'), { create: true }), KeyFileInsecure);
});

test('JSON-lines export to a file and to a webhook, resumable from the returned cursor', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ledger = await openLedger(dir);
  t.after(() => ledger.close());
  const appended = await appendRange(ledger, 0, 25);
  const file = join(dir, 'siem.jsonl');
  const first = await exportJsonLines(ledger, 0, { file }, 10);
  assert.deepEqual(first, { exported: 25, next: 25 });
  await appendRange(ledger, 25, 30);
  assert.deepEqual(await exportJsonLines(ledger, first.next, { file }), { exported: 5, next: 30 });
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { index: number; leafHash: string; entry: { requestId: string } });
  assert.equal(lines.length, 30);
  assert.equal(lines[7]!.leafHash, appended[7]!.leafHash);
  assert.equal(lines[29]!.entry.requestId, inferenceEvent(29).requestId);

  const received: string[] = [];
  let fail = true;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (fail) {
        fail = false;
        res.writeHead(503).end();
        return;
      }
      assert.equal(req.headers['content-type'], 'application/x-ndjson');
      received.push(...body.trim().split('\n'));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  const webhook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/siem`;
  await assert.rejects(exportJsonLines(ledger, 0, { webhook }), /answered 503 at entry 0; resume from 0/);
  assert.deepEqual(await exportJsonLines(ledger, 0, { webhook }, 16), { exported: 30, next: 30 });
  assert.equal(received.length, 30);
  await assert.rejects(exportJsonLines(ledger, 0, {}), RangeError);
});
