// `warden migrate`: the real CLI against PostgreSQL (skipped with a reason outside CI when none answers).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { requireService } from '../helpers/services.js';
import { WARDEN_BIN } from '../helpers/proc.js';
import { IDENTITY_MIGRATIONS } from '../../src/store/identity-postgres.js';
import { TOOLS_MIGRATIONS } from '../../src/store/tools-postgres.js';

const PG = 'postgres://postgres@127.0.0.1:5432/test';
const prefix = `tm${randomBytes(4).toString('hex')}_`;
const dir = mkdtempSync(join(tmpdir(), 'warden-migrate-'));
let skip: string | false = false;

before(async () => {
  skip = await requireService('postgres');
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (skip) return;
  const c = new pg.Client({ connectionString: PG });
  await c.connect();
  await c.query(`DROP TABLE IF EXISTS ${prefix}api_keys, ${prefix}principals, ${prefix}meta, ${prefix}tools, ${prefix}tool_version_high, ${prefix}tool_approvals, ${prefix}tool_pins, ${prefix}tool_quarantines, ${prefix}policy_shadow, ${prefix}policy_activations, ${prefix}policy_sets, ${prefix}attestation_verdicts, ${prefix}model_deployments, ${prefix}model_versions, ${prefix}jit_keys, ${prefix}ledger_payload_keys, ${prefix}ledger_payload_erasures, ${prefix}ledger_payloads, ${prefix}model_keys, ${prefix}sealed_kek, ${prefix}tenant_keks, ${prefix}tool_credential_keys, ${prefix}a2a_tasks, ${prefix}a2a_agents, ${prefix}dataset_record_erasures, ${prefix}dataset_train_decisions, ${prefix}dataset_training_runs, ${prefix}lineage_outbox, ${prefix}dataset_lineage, ${prefix}datasets, ${prefix}data_sources, ${prefix}console_sessions, ${prefix}console_pending_sign_ins, ${prefix}monitor_baselines, ${prefix}monitor_drift_profiles, ${prefix}retrieval_chunks, ${prefix}retrieval_files, ${prefix}retrieval_stores, ${prefix}retrieval_uploads, ${prefix}subject_keys, ${prefix}schema_migrations CASCADE`);
  await c.end();
});

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, [WARDEN_BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

test('warden migrate applies the schema once, then reports it current; the connection string can come from the environment', async (t) => {
  if (skip) return t.skip(skip);
  const cfg = join(dir, 'warden.yaml');
  writeFileSync(cfg, `dataDir: ${join(dir, 'data')}\nstore:\n  postgres: { connectionStringEnv: TEST_WARDEN_PG, prefix: ${prefix} }\n`);
  const first = cli(['migrate', '--config', cfg], { TEST_WARDEN_PG: PG });
  assert.equal(first.status, 0, first.stderr);
  const all = IDENTITY_MIGRATIONS.map((m) => m.version);
  const tools = TOOLS_MIGRATIONS.map((m) => m.version);
  assert.equal(
    first.stdout.trim(),
    `identity (${prefix}*): schema 0 -> ${all.length}, applied ${all.join(', ')}\ntools (${prefix}*): schema 0 -> ${tools.length}, applied ${tools.join(', ')}\npolicies (${prefix}*): schema 0 -> 2, applied 1, 2\nregistry (${prefix}*): schema 0 -> 2, applied 1, 2\nsealed (${prefix}*): schema 0 -> 4, applied 1, 2, 3, 4\nagents (${prefix}*): schema 0 -> 2, applied 1, 2\ndatasets (${prefix}*): schema 0 -> 5, applied 1, 2, 3, 4, 5\nconsole (${prefix}*): schema 0 -> 3, applied 1, 2, 3\nmonitor_baselines (${prefix}*): schema 0 -> 2, applied 1, 2\nretrieval (${prefix}*): schema 0 -> 3, applied 1, 2, 3`,
  );
  const again = cli(['migrate', '--config', cfg], { TEST_WARDEN_PG: PG });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`identity .*schema ${all.length} -> ${all.length}, already current`));
  assert.match(again.stdout, new RegExp(`tools .*schema ${tools.length} -> ${tools.length}, already current`));
  assert.match(again.stdout, /policies .*schema 2 -> 2, already current/);
  assert.match(again.stdout, /registry .*schema 2 -> 2, already current/);
  assert.match(again.stdout, /sealed .*schema 4 -> 4, already current/);
  assert.match(again.stdout, /agents .*schema 2 -> 2, already current/);
  assert.match(again.stdout, /datasets .*schema 5 -> 5, already current/);
  assert.match(again.stdout, /monitor_baselines .*schema 2 -> 2, already current/);
  assert.match(again.stdout, /retrieval .*schema 3 -> 3, already current/);
  const noEnv = cli(['migrate', '--config', cfg], { TEST_WARDEN_PG: '' });
  assert.equal(noEnv.status, 2, 'a config that names an unset variable is a config error');
  assert.match(noEnv.stderr, /environment variable TEST_WARDEN_PG is not set/);
});

test('warden migrate without store.postgres says there is nothing to do; an unreachable server is exit 1 in one line', async (t) => {
  if (skip) return t.skip(skip);
  const plain = join(dir, 'plain.yaml');
  writeFileSync(plain, `dataDir: ${join(dir, 'data')}\n`);
  const r = cli(['migrate', '--config', plain]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /nothing to migrate/);
  const dead = join(dir, 'dead.yaml');
  writeFileSync(dead, `dataDir: ${join(dir, 'data')}\nstore:\n  postgres: { connectionString: "postgres://postgres@127.0.0.1:1/test", prefix: ${prefix} }\n`);
  const d = cli(['migrate', '--config', dead]);
  assert.equal(d.status, 1);
  assert.equal(d.stderr.trim().split('\n').length, 1, d.stderr);
  assert.match(d.stderr, /migrate: .*ECONNREFUSED/);
});
