// kill -9 under load loses no acknowledged entry: a child appends with group commit and prints each ack;
// we SIGKILL it mid-stream, reopen the store, and check every ack and every receipt against the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportStatic } from '../../src/ledger/export-static.js';
import { auditVerify } from '../../src/ledger/audit-verify.js';
import { receiptVerify } from '../../src/ledger/receipt-verify.js';
import { leafHash } from '../../src/ledger/hash.js';
import { openLedger, tmpDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/append-child.js', import.meta.url));

interface Ack {
  i: number;
  h: string;
  receipt: string;
}

/** Runs the child until it has acknowledged `minAcks` entries, then SIGKILLs it; returns the complete ack lines. */
function runAndKill(dataDir: string, start: number, minAcks: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dataDir, String(start)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    let stderr = '';
    const acks: Ack[] = [];
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buf += chunk;
      const lines = buf.split('\n');
      buf = lines.pop()!; // a torn last line is not an acknowledgement
      for (const l of lines) if (l.startsWith('{')) acks.push(JSON.parse(l) as Ack);
      if (!killed && acks.length >= minAcks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`child exited with ${code}/${signal}: ${stderr}`));
      resolve(acks);
    });
  });
}

test('SIGKILL under load loses no acknowledged entry; restart resumes the same tree; receipts verify', async (t) => {
  const dir = tmpDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  const first = await runAndKill(data, 0, 1500);
  assert.ok(first.length >= 1500);

  let ledger = await openLedger(data); // refuses to open if the stored tree does not match its checkpoint
  const sizeAfterCrash = ledger.size;
  assert.ok(sizeAfterCrash >= first.length, `log has ${sizeAfterCrash} entries, ${first.length} were acknowledged`);
  for (const a of first) {
    assert.ok(a.i < sizeAfterCrash, `acked entry ${a.i} lost`);
    const [entry] = await ledger.readEntries(a.i, 1);
    assert.equal(leafHash(entry!).toString('base64'), a.h, `entry ${a.i} differs from what was acknowledged`);
  }
  await ledger.close();

  // A second crash on top of the resumed tree.
  const second = await runAndKill(data, 100000, 500);
  ledger = await openLedger(data);
  assert.ok(ledger.size >= sizeAfterCrash + second.length);
  const exported = join(dir, 'export');
  await exportStatic(ledger, exported);
  const vkey = ledger.key.vkey;
  await ledger.close();

  const audit = await auditVerify({ log: exported, key: vkey });
  assert.equal(audit.size, ledger.size);
  const all = [...first, ...second];
  for (const a of all.filter((_, k) => k % 10 === 0)) {
    const r = await receiptVerify({ receipt: a.receipt, log: exported, key: vkey });
    assert.equal(r.payload.leafIndex, a.i);
  }
});
