// A file the operator names that cannot be opened is one line naming it (exit 2), never a stack trace: through
// the real CLI, for a verb that reads the file after reaching the admin client (`monitor drift approve --from`),
// one that reads it after loading the config (`playbook simulate --traffic`), a directory given as a file, and a
// file no verb reads itself (WARDEN_ADMIN_KEY_FILE), which only the CLI's one failure path sees.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCa } from '../../src/network/dev-ca.js';
import { runWarden } from '../helpers/proc.js';

function assertOneLine(r: { code: number | null; stderr: string }, path: string, code: string): void {
  assert.equal(r.code, 2, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(code));
  assert.ok(r.stderr.includes(path), r.stderr);
}

test('a file named on the command line that cannot be opened is one line, exit 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-cli-files-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ca.pem'), (await createCa('cli test CA')).certPem);
  const missing = join(dir, 'no-such-answers.jsonl');
  const env = { WARDEN_ADMIN_KEY: 'wdn_not_used_before_the_file_is_read', WARDEN_CA: join(dir, 'ca.pem') };

  const approve = await runWarden(['monitor', 'drift', 'approve', 'summarizer', '--from', missing, '--data-dir', dir], env);
  assertOneLine(approve, missing, 'ENOENT');

  const cfg = join(dir, 'warden.yaml');
  writeFileSync(cfg, `dataDir: ${join(dir, 'data')}\nmonitor:\n  playbooks:\n    - name: p\n      when: { signals: { injections: 2 } }\n      steps: [{ do: throttle, requestsPerSecond: 1 }]\n`);
  const simulate = await runWarden(['playbook', 'simulate', '--config', cfg, '--traffic', missing]);
  assertOneLine(simulate, missing, 'ENOENT');

  const directory = await runWarden(['playbook', 'simulate', '--config', cfg, '--traffic', dir]);
  assertOneLine(directory, dir, 'EISDIR');

  // No verb-specific handling: the CLI's one failure path turns the system error into its one line.
  const keyFile = join(dir, 'no-such-admin-key');
  const list = await runWarden(['monitor', 'list', '--data-dir', dir], { WARDEN_ADMIN_KEY: '', WARDEN_ADMIN_KEY_FILE: keyFile, WARDEN_CA: join(dir, 'ca.pem') });
  assertOneLine(list, keyFile, 'ENOENT');
});
