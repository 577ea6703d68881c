// The attack issue 12 names: an insider with the data dir truncates the log and re-signs it with the log's
// own key. Plain `warden audit verify` accepts it; with `--min-witnesses 1` it fails, because the witness
// refuses the rewritten history and no cosignature covers it. Real HTTP servers, real keys, real SQLite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { main as auditCli } from '../../src/cli/audit.js';
import { FixedClock } from '../../src/core/clock.js';
import { auditVerify } from '../../src/ledger/audit-verify.js';
import { CosignatureInvalid, LogForked } from '../../src/ledger/errors.js';
import { createAuditHandler } from '../../src/ledger/http.js';
import { exportStatic } from '../../src/ledger/export-static.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { loadOrCreateWitnessKey, type WitnessKey } from '../../src/ledger/witness/key.js';
import { startWitnessServer, type RunningWitness } from '../../src/ledger/witness/server.js';
import { Witness } from '../../src/ledger/witness/witness.js';
import { WITNESSED_CHECKPOINT_FILE, WitnessSubmitter } from '../../src/ledger/witness-submitter.js';
import { openSqlite, type SqliteDb } from '../../src/store/sqlite.js';
import { SqliteWitnessStore } from '../../src/store/witness-sqlite.js';
import { loadOrCreateLedgerKey } from '../../src/ledger/key.js';
import { appendRange, openLedger, ORIGIN, tmpDir } from './helpers.js';

const root = tmpDir();
// Two hours and a minute ago, whole seconds: the CLI judges cosignature age by the real clock.
const T0 = Math.floor(Date.now() / 1000) * 1000 - 2 * 3600_000 - 60_000;
const clock = new FixedClock(T0);
let wkey: WitnessKey;
let db: SqliteDb;
let witness: RunningWitness;
const closers: (() => Promise<void>)[] = [];

test.before(async () => {
  wkey = loadOrCreateWitnessKey(join(root, 'witness'), 'witness.test/w1');
  db = openSqlite(join(root, 'witness', 'witness.db'));
  // The witness follows the log's key, created before the log first starts.
  const logKey = loadOrCreateLedgerKey(join(root, 'honest'), ORIGIN);
  witness = await startWitnessServer(new Witness({ store: new SqliteWitnessStore(db), signer: wkey.signer, logKeys: [logKey.verifier], clock }), 0);
  closers.push(() => witness.close());
});
test.after(async () => {
  for (const c of closers.reverse()) await c();
  db.close();
  rmSync(root, { recursive: true, force: true });
});

interface ServedLog {
  ledger: Ledger;
  submitter: WitnessSubmitter;
  url: string;
  dir: string;
}

/** A ledger, its submitter to the witness and its read-only audit API on a real HTTP server. */
async function serveLog(dir: string): Promise<ServedLog> {
  const ledger = await openLedger(dir);
  const submitter = new WitnessSubmitter({
    ledger,
    logKey: ledger.key.verifier,
    witnesses: [{ name: 'w1', url: witness.url, key: wkey.vkey }],
    intervalMs: 60_000,
    clock,
    statePath: join(dir, WITNESSED_CHECKPOINT_FILE),
  });
  const handler = createAuditHandler(ledger, { witnessedCheckpoint: () => served.submitter.witnessedCheckpoint() });
  const server: Server = createServer((req, res) => {
    if (!handler(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(async () => {
    await served.submitter.close();
    await new Promise<void>((r) => server.close(() => r()));
    await ledger.close();
  });
  const served: ServedLog = { ledger, submitter, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit/v1`, dir };
  return served;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await auditCli(args, { out: (l) => (out += l + '\n'), err: (l) => (err += l + '\n') });
  return { code, out, err };
}

let honest: ServedLog;
let snapshotAt300 = '';

test('the honest log is cosigned as it grows, and audit verify --min-witnesses 1 accepts it', async () => {
  honest = await serveLog(join(root, 'honest'));

  await appendRange(honest.ledger, 0, 300);
  const r1 = await honest.submitter.submitOnce();
  assert.deepEqual(r1.cosigned, ['w1'], JSON.stringify(r1.failed));
  snapshotAt300 = readFileSync(join(honest.dir, WITNESSED_CHECKPOINT_FILE), 'utf8');

  clock.advance(2 * 3600_000);
  await appendRange(honest.ledger, 300, 600);
  const r2 = await honest.submitter.submitOnce();
  assert.deepEqual(r2, { size: 600, cosigned: ['w1'], failed: [] });

  const ok = await auditVerify({ log: honest.url, key: honest.ledger.key.vkey, witnesses: [wkey.vkey], minWitnesses: 1, maxWitnessAgeSec: 3600, now: clock.now() });
  assert.equal(ok.size, 600);
  assert.equal(ok.witnessed?.size, 600);
  assert.deepEqual(ok.witnessed?.cosigners, [{ name: 'witness.test/w1', timestamp: clock.now() / 1000 }]);
});

test('a restarted submitter that does not know the witness size resyncs on 409 and is cosigned', async () => {
  await appendRange(honest.ledger, 600, 650);
  const fresh = new WitnessSubmitter({ ledger: honest.ledger, logKey: honest.ledger.key.verifier, witnesses: [{ name: 'w1', url: witness.url, key: wkey.vkey }], intervalMs: 60_000, clock, statePath: join(honest.dir, WITNESSED_CHECKPOINT_FILE) });
  assert.match(fresh.witnessedCheckpoint() ?? '', /^warden\.test\/audit\n600\n/, 'the stored witnessed checkpoint is loaded at start');
  const r = await fresh.submitOnce();
  assert.deepEqual(r, { size: 650, cosigned: ['w1'], failed: [] });
  honest.submitter = fresh;
  const res = await cli(['verify', '--log', honest.url, '--key', honest.ledger.key.vkey, '--witness', wkey.vkey, '--min-witnesses', '1']);
  assert.equal(res.code, 0, res.err);
  assert.match(res.out, /650 entries/);
  assert.match(res.out, /cosigned by 1 witness\(es\): witness\.test\/w1/);
});

/** What an insider with the data dir can do: keep the key, rebuild the first `keep` entries, re-sign. */
async function truncatedCopy(name: string, keep: number, witnessed: string | null): Promise<ServedLog> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  copyFileSync(join(honest.dir, 'ledger-key.pem'), join(dir, 'ledger-key.pem'));
  if (witnessed !== null) writeFileSync(join(dir, WITNESSED_CHECKPOINT_FILE), witnessed);
  const log = await serveLog(dir);
  await appendRange(log.ledger, 0, keep);
  return log;
}

test('a log truncated and re-signed with its own key passes plain audit verify but fails with --min-witnesses 1', async () => {
  const stolen = readFileSync(join(honest.dir, WITNESSED_CHECKPOINT_FILE), 'utf8');
  const cut = await truncatedCopy('truncated', 300, stolen);
  // Without witnesses the auditor has only the log's key, which the insider holds: the cut log verifies.
  const plain = await cli(['verify', '--log', cut.url, '--key', cut.ledger.key.vkey]);
  assert.equal(plain.code, 0, plain.err);
  assert.match(plain.out, /300 entries/);

  // The witness refuses the shorter history: it has cosigned 650, and no proof leads back to 300.
  const r = await cut.submitter.submitOnce();
  assert.deepEqual(r.cosigned, []);
  assert.match(r.failed[0]!.error, /has cosigned size 650, larger than this log's 300: the log was rolled back/);

  // Served with the genuine witnessed checkpoint, the cut log is shown to be behind what the witness saw.
  const res = await cli(['verify', '--log', cut.url, '--key', cut.ledger.key.vkey, '--witness', wkey.vkey, '--min-witnesses', '1']);
  assert.equal(res.code, 1);
  assert.match(res.err, /LogForked \(rolled_back\): witnesses cosigned the log at size 650, but it now has 300 entries/);

  // Served with no witnessed checkpoint at all, nothing vouches for it.
  unlinkSync(join(cut.dir, WITNESSED_CHECKPOINT_FILE));
  const bare = await truncatedCopy('truncated-bare', 300, null);
  await assert.rejects(auditVerify({ log: bare.url, key: bare.ledger.key.vkey, witnesses: [wkey.vkey], minWitnesses: 1, now: clock.now() }), (e: unknown) => e instanceof CosignatureInvalid && e.code === 'not_witnessed');
});

test('replaying an old, genuine cosignature of a shorter tree is refused by its age', async () => {
  // The cosignature taken when the log had 300 entries is genuine and consistent with a log cut to 300.
  const replay = await truncatedCopy('replayed', 300, snapshotAt300);
  await assert.rejects(
    auditVerify({ log: replay.url, key: replay.ledger.key.vkey, witnesses: [wkey.vkey], minWitnesses: 1, maxWitnessAgeSec: 3600, now: clock.now() }),
    (e: unknown) => e instanceof CosignatureInvalid && e.code === 'too_few_cosignatures' && /older than 3600 s/.test(e.message),
  );
  // The CLI applies a default maximum age, so the replay fails without --max-witness-age too.
  const res = await cli(['verify', '--log', replay.url, '--key', replay.ledger.key.vkey, '--witness', wkey.vkey, '--min-witnesses', '1']);
  assert.equal(res.code, 1, res.out);
  assert.match(res.err, /too_few_cosignatures/);
});

test('a rewritten history longer than the witnessed one is refused by the witness (422) and fails the audit as a fork', async () => {
  const stolen = readFileSync(join(honest.dir, WITNESSED_CHECKPOINT_FILE), 'utf8');
  const forked = await truncatedCopy('forked', 300, stolen);
  await appendRange(forked.ledger, 5000, 5500); // 800 entries, the last 500 invented
  const r = await forked.submitter.submitOnce();
  assert.deepEqual(r.cosigned, []);
  // The submitter first learns the witness's size (409), then its proof from 650 is refused (422).
  assert.match(r.failed[0]!.error, /refused the consistency proof from size 650 to 800/);
  await assert.rejects(
    auditVerify({ log: forked.url, key: forked.ledger.key.vkey, witnesses: [wkey.vkey], minWitnesses: 1, now: clock.now() }),
    (e: unknown) => e instanceof LogForked && e.code === 'forked',
  );
});

test('a static export carries the witnessed checkpoint, and audit verify --min-witnesses reads it from the directory', async () => {
  const dir = join(root, 'static');
  await exportStatic(honest.ledger, dir, { witnessedCheckpoint: honest.submitter.witnessedCheckpoint() });
  const r = await auditVerify({ log: dir, key: honest.ledger.key.vkey, witnesses: [wkey.vkey], minWitnesses: 1, now: clock.now() });
  assert.equal(r.witnessed?.size, 650);
  const bare = join(root, 'static-bare');
  await exportStatic(honest.ledger, bare);
  await assert.rejects(auditVerify({ log: bare, key: honest.ledger.key.vkey, witnesses: [wkey.vkey], minWitnesses: 1, now: clock.now() }), (e: unknown) => e instanceof CosignatureInvalid && e.code === 'not_witnessed');
});

test('audit verify refuses witness options that cannot be met, and a cosignature by an untrusted witness does not count', async () => {
  const few = await cli(['verify', '--log', honest.url, '--key', honest.ledger.key.vkey, '--witness', wkey.vkey, '--min-witnesses', '2']);
  assert.equal(few.code, 2);
  assert.match(few.err, /needs at least 2 --witness keys/);
  const lone = await cli(['verify', '--log', honest.url, '--key', honest.ledger.key.vkey, '--witness', wkey.vkey]);
  assert.equal(lone.code, 2);
  const other = loadOrCreateWitnessKey(join(root, 'other-witness'), 'witness.test/other');
  await assert.rejects(
    auditVerify({ log: honest.url, key: honest.ledger.key.vkey, witnesses: [other.vkey], minWitnesses: 1, now: clock.now() }),
    (e: unknown) => e instanceof CosignatureInvalid && e.code === 'too_few_cosignatures',
  );
});
