// Three `warden up` replicas on one store config (PostgreSQL + Redis), each with its own data dir and ports,
// started together as a first start: exactly one bootstrap credential; a key created through replica 1 chats
// through 2 and 3; a JIT token issued by one replica verifies on the others (each publishes its public key
// by kid, private keys stay put); a key revoked through replica 2 is refused everywhere; every receipt is in
// the one log, which verifies from scratch. (scripts/cluster-demo.sh shows the same behind nginx.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadOrCreateLedgerKey, LEDGER_KEY_FILE } from '../../src/ledger/key.js';
import { tmpdir } from 'node:os';
import { createKeyFile } from '../../src/data/crypto/key-file.js';
import pg from 'pg';
import { requireService } from '../helpers/services.js';
import { startTestWarden, type TestWarden } from '../helpers/warden.js';
import { dropPgPrefix, PG_URL as PG, sharedKekFile, startTestCluster } from '../helpers/cluster.js';
import type { WardenConfig } from '../../src/config/config.js';
import { openProofReceipt } from '../../src/ledger/receipt-proof.js';
import { auditVerify } from '../../src/ledger/audit-verify.js';
import { exportStatic } from '../../src/ledger/export-static.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { PostgresLedgerStore } from '../../src/store/ledger-postgres.js';
import { verifyInclusion } from '../../src/ledger/merkle-verify.js';
import { leafHash } from '../../src/ledger/hash.js';

const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';

test('three replicas on one store: one bootstrap credential, keys, tokens, revocations and the ledger shared', { timeout: 120_000 }, async (t) => {
  const skip = (await requireService('postgres')) || (await requireService('redis'));
  if (skip) return t.skip(skip);
  // A first start of three replicas at once.
  const cl = await startTestCluster(3);
  t.after(() => cl.stop());
  const { prefix, root, ledgerKey, replicas } = cl;
  const [r1, r2, r3] = replicas as [TestWarden, TestWarden, TestWarden];
  const bootstrap = replicas.map((r) => r.w.bootstrapKey).filter((k): k is string => k !== null);
  assert.equal(bootstrap.length, 1, 'exactly one replica printed a bootstrap credential');
  const db = new pg.Client({ connectionString: PG });
  await db.connect();
  t.after(() => db.end());
  const adminKeys = await db.query(`SELECT id FROM ${prefix}api_keys WHERE principal_id = 'admin'`);
  assert.equal(adminKeys.rowCount, 1, 'exactly one bootstrap credential was created');
  const admin = (r: TestWarden, method: string, path: string, body?: unknown) => r.call('admin', method, path, { key: bootstrap[0]!, ...(body !== undefined ? { body } : {}) });

  // A key created through replica 1 chats through 2 and 3.
  assert.equal((await admin(r1, 'POST', '/admin/v1/principals', { id: 'alice', tenant: 'acme', groups: ['consumers'] })).status, 201);
  const created = await admin(r1, 'POST', '/admin/v1/keys', { principal: 'alice', models: ['demo-chat'], actions: ['chat'] });
  assert.equal(created.status, 201, created.text);
  const key = created.json.key as string;
  const chat = (r: TestWarden, k: string) => r.call('inference', 'POST', '/v1/chat/completions', { key: k, body: { model: 'demo-chat', messages: [{ role: 'user', content: 'hello' }] } });
  const receipts: string[] = [];
  for (const r of [r2, r3, r1, r2, r3]) {
    const res = await chat(r, key);
    assert.equal(res.status, 200, res.text);
    receipts.push(String(res.headers['warden-receipt']));
  }

  // A token issued by replica 1 is accepted by replicas 2 and 3.
  const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
  const issued = await r1.call('inference', 'POST', '/v1/token', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ grant_type: TE, subject_token_type: JWT, subject_token: key, scope: 'chat model:demo-chat' }) });
  assert.equal(issued.status, 200, issued.text);
  const jit = issued.json.access_token as string;
  for (const r of [r2, r3]) {
    const res = await chat(r, jit);
    assert.equal(res.status, 200, res.text);
    receipts.push(String(res.headers['warden-receipt']));
  }
  assert.equal((await db.query(`SELECT kid FROM ${prefix}jit_keys`)).rowCount, 3, 'each replica published its own public key');
  // A token signed by a key no replica published is refused (the directory is looked up, not trusted blindly).
  const forged = jit.split('.');
  const header = JSON.parse(Buffer.from(forged[0]!, 'base64url').toString());
  const unknown = await chat(r2, [Buffer.from(JSON.stringify({ ...header, kid: 'A'.repeat(43) })).toString('base64url'), forged[1], forged[2]].join('.'));
  assert.equal(unknown.status, 401);

  // Revoked through replica 2: refused by 1 and 3 within a second, and so are the tokens derived from it.
  const revoked = await admin(r2, 'DELETE', `/admin/v1/keys/${created.json.id}`);
  assert.ok(revoked.status < 300, revoked.text);
  const started = Date.now();
  for (const r of [r1, r3]) {
    let status = 0;
    while ((status = (await chat(r, key)).status) === 200 && Date.now() - started < 1000) await new Promise((res) => setTimeout(res, 20));
    assert.equal(status, 401, 'the revoked key is refused');
    assert.equal((await chat(r, jit)).status, 401, 'so is the token derived from it');
  }

  // Every receipt (from any replica) is in the one log, which verifies from scratch through any replica.
  // (An auditor's view: the log exported as C2SP static files by a reader on the shared store, verified from scratch.)
  const reader = await Ledger.open({ store: await PostgresLedgerStore.connect({ connectionString: PG, prefix: `${prefix}ledger_` }), key: ledgerKey });
  await exportStatic(reader, join(root, 'export'));
  await reader.close();
  const verified = await auditVerify({ log: join(root, 'export'), key: ledgerKey.vkey });
  const entries = (await db.query<{ idx: string; entry: Buffer }>(`SELECT idx, entry FROM ${prefix}ledger_entries ORDER BY idx`)).rows;
  assert.equal(verified.size, entries.length, 'the whole log verifies');
  for (const rc of receipts) {
    const { payload } = openProofReceipt(rc, ledgerKey.vkey);
    const stored = entries[payload.leafIndex]!;
    assert.equal(Number(stored.idx), payload.leafIndex);
    assert.equal(leafHash(stored.entry).toString('base64'), payload.leafHash, `receipt ${payload.leafIndex} names the stored entry`);
  }
  // Each replica serves the shared latest checkpoint, not the one of its own last append: at least the size
  // committed (by anyone) before the request.
  const committed = Number((await db.query<{ size: string }>(`SELECT size FROM ${prefix}ledger_checkpoint`)).rows[0]!.size);
  for (const r of replicas) assert.ok(Number((await r.call('admin', 'GET', '/audit/v1/checkpoint')).text.split('\n')[1]) >= committed, 'a replica serves the shared latest checkpoint');
  // Replica 1 proves an entry replica 2 appended, in its own latest tree.
  const r1Size = Number((await r1.call('admin', 'GET', '/audit/v1/checkpoint')).text.split('\n')[1]);
  const proof = await r1.call('admin', 'GET', `/audit/v1/proof/inclusion?index=${openProofReceipt(receipts[0]!, ledgerKey.vkey).payload.leafIndex}&size=${r1Size}`, { key: bootstrap[0]! });
  assert.equal(proof.status, 200, proof.text);
  const p = proof.json;
  verifyInclusion(p.index, p.size, Buffer.from(p.leafHash, 'base64'), p.hashes.map((h: string) => Buffer.from(h, 'base64')), Buffer.from(p.rootHash, 'base64'));
});

test('a replica with another ledger key is refused at start in one line', { timeout: 60_000 }, async (t) => {
  const skip = await requireService('postgres');
  if (skip) return t.skip(skip);
  const prefix = `wcr_${randomBytes(4).toString('hex')}_`;
  const dir = mkdtempSync(join(tmpdir(), 'warden-kek-'));
  const cfg = (c: WardenConfig) => {
    c.store = { postgres: { connectionString: PG, prefix } };
    c.encryption.kek = { file: sharedKekFile(dir) };
  };
  const a = await startTestWarden(cfg);
  t.after(async () => {
    await a.stop();
    await dropPgPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  });
  await assert.rejects(startTestWarden(cfg), (e: Error) => {
    assert.match(e.message, /not signed by this ledger key .* every replica appending to one log must use the same ledger key/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
});

test('store.postgres: no named KEK, or another KEK than the shared store was pinned to, is refused at start; a rotation moves the pin', { timeout: 60_000 }, async (t) => {
  const skip = await requireService('postgres');
  if (skip) return t.skip(skip);
  const prefix = `wcr_${randomBytes(4).toString('hex')}_`;
  const dir = mkdtempSync(join(tmpdir(), 'warden-kek-'));
  t.after(async () => {
    await dropPgPrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  });
  const store = (c: WardenConfig) => {
    c.store = { postgres: { connectionString: PG, prefix } };
  };
  // Every replica its own data dir with the one ledger key (so only the KEK differs between them).
  const ledgerKeyDir = join(dir, 'ledger');
  loadOrCreateLedgerKey(ledgerKeyDir);
  let n = 0;
  const start = (kek: WardenConfig['encryption']['kek'], previous: NonNullable<WardenConfig['encryption']['kek']>[] = []) => {
    const dataDir = join(dir, `r${++n}`);
    mkdirSync(dataDir, { mode: 0o700 });
    copyFileSync(join(ledgerKeyDir, LEDGER_KEY_FILE), join(dataDir, LEDGER_KEY_FILE));
    chmodSync(join(dataDir, LEDGER_KEY_FILE), 0o600);
    return startTestWarden((c) => {
      store(c);
      if (kek) c.encryption.kek = kek;
      c.encryption.previous = previous;
    }, { dataDir });
  };
  const running: TestWarden[] = [];
  t.after(async () => {
    for (const r of running) await r.stop();
  });
  const refused = (re: RegExp) => (e: Error & { kind?: string }) => {
    assert.equal(e.name, 'StartupRefused');
    assert.equal(e.kind, 'config');
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'));
    return true;
  };
  // No encryption.kek: each data dir would make its own, and no replica could open another's keys.
  await assert.rejects(start(undefined), refused(/^store\.postgres needs encryption\.kek: .*same KEK/));

  const first = join(dir, 'kek-1.bin');
  const other = join(dir, 'kek-2.bin');
  createKeyFile(first);
  createKeyFile(other);
  const a = await start({ file: first });
  running.push(a);
  // A second replica with another key file (different bytes) is refused.
  const mismatch = refused(/the shared store's keys are wrapped under KEK \S+, this replica's encryption\.kek is \S+: every replica on one store\.postgres must use the same KEK/);
  await assert.rejects(start({ file: other }), mismatch);
  // A copy of the same key is accepted.
  const copy = join(dir, 'copy.bin');
  copyFileSync(first, copy);
  chmodSync(copy, 0o600);
  await (await start({ file: copy })).stop();
  await running.pop()!.stop();
  // A rotation (the new KEK current, the pinned one under previous) moves the pin; the old KEK alone is then refused.
  await (await start({ file: other }, [{ file: first }])).stop();
  await assert.rejects(start({ file: first }), mismatch);
});
