// The ledger signing key in a PKCS#11 token: a real SoftHSM2 token the test creates in a temp dir, an
// Ed25519 key generated inside it (CKM_EC_EDWARDS_KEY_PAIR_GEN), checkpoints signed with CKM_EDDSA and
// verified with the public key alone. Without SoftHSM2 the tests skip with a printed reason; in CI
// (CI=true) its absence is a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pkcs11js from 'pkcs11js';
import { auditVerify } from '../../src/ledger/audit-verify.js';
import { openCheckpoint } from '../../src/ledger/checkpoint.js';
import { exportStatic } from '../../src/ledger/export-static.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { parseVerifierKey } from '../../src/ledger/note.js';
import { CKM_EC_EDWARDS_KEY_PAIR_GEN, ED25519_OID, LedgerKeyUnavailable, openPkcs11LedgerKey, type Pkcs11KeyConfig } from '../../src/ledger/pkcs11-key.js';
import { ThreadedSqliteLedgerStore } from '../../src/store/ledger-sqlite-threaded.js';
import { runWarden } from '../helpers/proc.js';
import { findSoftHsm, initToken, operatorSession } from '../helpers/softhsm.js';
import { appendRange, ORIGIN } from './helpers.js';

const { modulePath, util, missing } = findSoftHsm('PKCS#11 ledger key tests');

const tmp = mkdtempSync(join(tmpdir(), 'warden-ledger-hsm-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const PIN = '135792';
const TOKEN = 'warden-ledger';
const cfg = (over: Partial<Pkcs11KeyConfig['pkcs11']> = {}): Pkcs11KeyConfig => ({ pkcs11: { module: modulePath!, tokenLabel: TOKEN, keyLabel: 'ledger-key', ...over }, pinEnv: 'WARDEN_TEST_LEDGER_PIN' });
const env = { WARDEN_TEST_LEDGER_PIN: PIN };

/** An Ed25519 key pair generated inside the token: sensitive, never extractable. */
function generateEd25519(token: string, label: string, ecParams: Buffer): void {
  const { p, session } = operatorSession(modulePath!, token, PIN);
  p.C_GenerateKeyPair(
    session,
    { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN },
    [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_LABEL, value: label }, { type: pkcs11js.CKA_VERIFY, value: true }, { type: pkcs11js.CKA_EC_PARAMS, value: ecParams }],
    [
      { type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_LABEL, value: label }, { type: pkcs11js.CKA_SIGN, value: true },
      { type: pkcs11js.CKA_PRIVATE, value: true }, { type: pkcs11js.CKA_SENSITIVE, value: true }, { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    ],
  );
  p.C_CloseSession(session);
}

if (!missing) {
  initToken(util!, tmp, TOKEN, PIN);
  generateEd25519(TOKEN, 'ledger-key', ED25519_OID);
}

test('checkpoints signed inside the token verify with its public key alone', { skip: missing }, async () => {
  const hsm = openPkcs11LedgerKey(cfg(), ORIGIN, env);
  const dir = join(tmp, 'data');
  try {
    const ledger = await Ledger.open({ store: await ThreadedSqliteLedgerStore.open(join(dir, 'warden.db')), key: hsm.key });
    await appendRange(ledger, 0, 300);
    const cp = ledger.latestCheckpoint();
    assert.equal(openCheckpoint(cp.note, parseVerifierKey(hsm.key.vkey)).size, 300);
    await exportStatic(ledger, join(tmp, 'export'));
    await ledger.close();
    // The auditor holds only the vkey; the data dir holds no key file at all.
    assert.equal(existsSync(join(dir, 'ledger-key.pem')), false);
    const r = await auditVerify({ log: join(tmp, 'export'), key: hsm.key.vkey });
    assert.equal(r.size, 300);
    // Restart with the same token key: the stored checkpoint verifies and the tree resumes.
    const again = await Ledger.open({ store: await ThreadedSqliteLedgerStore.open(join(dir, 'warden.db')), key: hsm.key });
    await appendRange(again, 300, 310);
    assert.equal(again.latestCheckpoint().size, 310);
    await again.close();
  } finally {
    hsm.close();
  }
});

let pkcs11Tool: string | undefined;
try {
  pkcs11Tool = execFileSync('sh', ['-c', 'command -v pkcs11-tool'], { encoding: 'utf8' }).trim() || undefined;
} catch {
  pkcs11Tool = undefined;
}

test('a key whose EC_PARAMS name the curve ("edwards25519", as pkcs11-tool writes them) is used the same way', { skip: missing }, () => {
  if (pkcs11Tool) {
    execFileSync(pkcs11Tool, ['--module', modulePath!, '--token-label', TOKEN, '--login', '--pin', PIN, '--keypairgen', '--key-type', 'EC:edwards25519', '--label', 'tool-key'], { env: process.env, stdio: 'pipe' });
  } else {
    console.log('# pkcs11-tool (OpenSC) is not installed: generating the key with the PrintableString curve name through pkcs11js');
    generateEd25519(TOKEN, 'tool-key', Buffer.concat([Buffer.from([0x13, 12]), Buffer.from('edwards25519')]));
  }
  const hsm = openPkcs11LedgerKey(cfg({ keyLabel: 'tool-key' }), ORIGIN, env);
  try {
    assert.equal(hsm.key.signer.sign(Buffer.from('probe')).length, 64);
    assert.match(hsm.key.vkey, /^warden\.test\/audit\+[0-9a-f]{8}\+A/);
  } finally {
    hsm.close();
  }
});

test('a wrong PIN, an unset PIN variable, a missing key or token refuse with a clear error', { skip: missing }, () => {
  assert.throws(() => openPkcs11LedgerKey(cfg(), ORIGIN, { WARDEN_TEST_LEDGER_PIN: '000000' }), (e: unknown) => e instanceof LedgerKeyUnavailable && /the PIN in WARDEN_TEST_LEDGER_PIN was refused by token "warden-ledger"/.test(e.message));
  assert.throws(() => openPkcs11LedgerKey(cfg(), ORIGIN, {}), /the token PIN variable WARDEN_TEST_LEDGER_PIN is not set/);
  assert.throws(() => openPkcs11LedgerKey(cfg({ keyLabel: 'no-such-key' }), ORIGIN, env), /token "warden-ledger" has no private key labelled "no-such-key"/);
  assert.throws(() => openPkcs11LedgerKey(cfg({ tokenLabel: 'no-such-token' }), ORIGIN, env), /no PKCS#11 token labelled "no-such-token"/);
  assert.throws(() => openPkcs11LedgerKey(cfg({ module: join(tmp, 'missing.so') }), ORIGIN, env), /cannot load the PKCS#11 module/);
});

test('warden up with ledger.signingKey refuses to start on a wrong PIN, in one line', { skip: missing }, async () => {
  const conf = join(tmp, 'warden.yaml');
  writeFileSync(conf, `dataDir: ${join(tmp, 'up')}\nlisteners:\n  inference: { port: 0 }\n  admin: { port: 0 }\nlog: { level: warn }\nledger:\n  signingKey:\n    pkcs11: { module: "${modulePath}", tokenLabel: ${TOKEN}, keyLabel: ledger-key }\n    pinEnv: WARDEN_TEST_LEDGER_PIN\n`);
  const bad = await runWarden(['up', '--config', conf], { WARDEN_TEST_LEDGER_PIN: '000000' });
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(bad.stderr, /^warden: cannot start: ledger\.signingKey: the PIN in WARDEN_TEST_LEDGER_PIN was refused by token "warden-ledger"\n$/);
});
