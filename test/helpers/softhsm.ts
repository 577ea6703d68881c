// SoftHSM2 for PKCS#11 tests: finds the module and softhsm2-util, creates a token in a temp dir (SOFTHSM2_CONF is
// set for this test process only), and opens an operator session to create or destroy keys the way an HSM admin
// would. Without SoftHSM2 `missing` says why (tests skip with it printed); under CI=true its absence throws.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pkcs11js from 'pkcs11js';

const MODULES = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so'];

export function findSoftHsm(what: string): { modulePath: string | undefined; util: string | undefined; missing: string | false } {
  const modulePath = MODULES.find((m) => existsSync(m));
  let util: string | undefined;
  try {
    util = execFileSync('sh', ['-c', 'command -v softhsm2-util'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    util = undefined;
  }
  const missing = !modulePath || !util ? 'SoftHSM2 is not installed (apt-get install softhsm2)' : false;
  if (missing && process.env.CI === 'true') throw new Error(`${missing} (CI=true: PKCS#11 tests must run)`);
  if (missing) console.log(`# skipping ${what}: ${missing}`);
  return { modulePath, util, missing };
}

/** A fresh token store under `dir` with one initialised token. */
export function initToken(util: string, dir: string, label: string, pin: string): void {
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  // SoftHSM reads SOFTHSM2_CONF at C_Initialize; each test file is its own process, so this stays local.
  process.env.SOFTHSM2_CONF = conf;
  execFileSync(util, ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', '97531'], { env: process.env, stdio: 'pipe' });
}

/** A logged-in read-write session of the test's own on the token labelled `token`. */
export function operatorSession(modulePath: string, token: string, pin: string): { p: pkcs11js.PKCS11; session: Buffer } {
  const p = new pkcs11js.PKCS11();
  p.load(modulePath);
  try {
    p.C_Initialize();
  } catch (e) {
    if ((e as { code?: number }).code !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw e;
  }
  const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === token)!;
  const session = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    p.C_Login(session, pkcs11js.CKU_USER, pin);
  } catch (e) {
    if ((e as { code?: number }).code !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) throw e;
  }
  return { p, session };
}
