// The keys that sign per-call tool credentials, rotated on a cadence with an overlap at both ends:
// - a new key is published (GET /v1/tools/jwks) `publishAheadMs` before it signs anything, so a backend that
//   cached the JWKS (max-age 300 s) already holds it when the first credential signed with it arrives;
// - the key it replaces stays published `overlapMs` after the new one starts signing, so every credential the old
//   key signed (they live 60 s) still verifies, as does a backend's cached copy.
// Keys are files in one directory of the data dir, `<activeFrom>-<kid>.pem` (mode 0600, directory 0700): the
// signing key is the newest whose activeFrom has come, and every process on the data dir (`warden up --workers
// N`) reads the same directory (again whenever it changes), so two processes rotating at the same moment leave two
// keys, the newer signs and the other stays published through its overlap — no credential either signed is lost.
// Each rotation and each retirement is a ledger entry (the caller's `record`). This is not the ledger's key.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';
import type { Clock } from '../core/clock.js';
import { FailClosed } from '../core/errors.js';

/** What signs a credential and what verifies one (a single fixed key, or the rotated set). */
export interface SigningKeys {
  signing(): { kid: string; key: KeyObject };
  jwks(): JWK[];
}

/** RFC 7638 thumbprint of an Ed25519 public key (members crv, kty, x in lexicographic order). */
export function ed25519Kid(key: KeyObject): string {
  const { crv, kty, x } = createPublicKey(key).export({ format: 'jwk' }) as { crv: string; kty: string; x: string };
  return createHash('sha256').update(JSON.stringify({ crv, kty, x })).digest('base64url');
}

function publicJwk(key: KeyObject, kid: string): JWK {
  const { crv, kty, x } = createPublicKey(key).export({ format: 'jwk' }) as { crv: string; kty: string; x: string };
  return { crv, kty, x, kid, alg: 'EdDSA', use: 'sig' };
}

/** One key, never rotated (tests, and the issuer's default). */
export function fixedSigningKey(key: KeyObject): SigningKeys {
  if (key.asymmetricKeyType !== 'ed25519' || key.type !== 'private') throw new TypeError('tool credentials: an Ed25519 private key is required');
  const kid = ed25519Kid(key);
  const jwk = publicJwk(key, kid);
  return { signing: () => ({ kid, key }), jwks: () => [jwk] };
}

/** A key in the rotation schedule: when it starts signing, and the private key. */
export interface ScheduledKey {
  kid: string;
  activeFrom: number;
  key: KeyObject;
}

interface StoredKey extends ScheduledKey {
  file: string;
}

// The schedule, shared by the keys of one data dir (below) and those shared by replicas in PostgreSQL
// (credential-keys-shared.ts); `keys` are sorted oldest activation first.

/** When `k` stops being published: `overlapMs` after a newer key started signing (null while none has). */
function retiresAt(keys: readonly ScheduledKey[], k: ScheduledKey, now: number, overlapMs: number): number | null {
  const successor = keys.find((x) => x.activeFrom > k.activeFrom && x.activeFrom <= now);
  return successor ? successor.activeFrom + overlapMs : null;
}

/** The newest key whose activation has come (none: refused, fail closed). */
export function signingKey(keys: readonly ScheduledKey[], now: number): { kid: string; key: KeyObject } {
  const k = keys.filter((x) => x.activeFrom <= now).at(-1);
  if (!k) throw new FailClosed('tool_credential_key_unavailable', 'no tool credential signing key is active');
  return k;
}

/** The public keys still published at `now` (not yet past their overlap). */
export function publishedKeys(keys: readonly ScheduledKey[], now: number, overlapMs: number): JWK[] {
  return keys.filter((k) => (retiresAt(keys, k, now, overlapMs) ?? Infinity) > now).map((k) => publicJwk(k.key, k.kid));
}

/** The keys past their overlap at `now`, to delete. */
export function retiredKeys<K extends ScheduledKey>(keys: readonly K[], now: number, overlapMs: number): K[] {
  return keys.filter((k) => {
    const at = retiresAt(keys, k, now, overlapMs);
    return at !== null && at <= now;
  });
}

/** Whether the newest key (none waiting to activate) is old enough to be replaced. */
export function rotationDue(keys: readonly ScheduledKey[], now: number, rotateAfterMs: number): boolean {
  const newest = keys.at(-1);
  return newest !== undefined && newest.activeFrom <= now && now - newest.activeFrom >= rotateAfterMs;
}

export function retireDetails(k: ScheduledKey, now: number): Record<string, string> {
  return { kid: k.kid, activeFrom: new Date(k.activeFrom).toISOString(), retiredAt: new Date(now).toISOString() };
}

export function rotateDetails(next: ScheduledKey, previous: ScheduledKey, now: number, overlapMs: number): Record<string, string> {
  return {
    kid: next.kid,
    previous: previous.kid,
    publishedAt: new Date(now).toISOString(),
    activeFrom: new Date(next.activeFrom).toISOString(),
    previousRetiresAt: new Date(next.activeFrom + overlapMs).toISOString(),
  };
}

/** What a shared key's wrapped seed is bound to under the KEK (another key's seed does not open in its place). */
export const toolCredentialKeyContext = (kid: string): string => `tool-credential-key:${kid}`;

/** RFC 8410 PKCS#8 prefix of an Ed25519 private key; the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The 32-byte seed of an Ed25519 private key (what the shared store wraps under the data KEK). */
export function ed25519Seed(key: KeyObject): Buffer {
  const der = key.export({ format: 'der', type: 'pkcs8' });
  if (der.length !== ED25519_PKCS8_PREFIX.length + 32 || !der.subarray(0, ED25519_PKCS8_PREFIX.length).equals(ED25519_PKCS8_PREFIX)) throw new TypeError('tool credentials: an Ed25519 private key is required');
  return der.subarray(ED25519_PKCS8_PREFIX.length);
}

/** The Ed25519 private key of a 32-byte seed. */
export function ed25519FromSeed(seed: Buffer): KeyObject {
  if (seed.length !== 32) throw new FailClosed('tool_credential_key_invalid', 'an Ed25519 seed is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export interface CredentialKeysOptions {
  dir: string;
  clock: Clock;
  /** A new key is made once the newest is this old (from its activation). */
  rotateAfterMs: number;
  /** The replaced key stays published this long after its successor starts signing (≥ the credentials' 60 s). */
  overlapMs: number;
  /** A new key is published this long before it signs (≥ the JWKS max-age, 300 s). */
  publishAheadMs: number;
  /** A key kept before rotation existed (`tool-credential-key.pem`): moved in as the first key. */
  legacyFile?: string;
  record: (action: 'tool_credential_key.rotate' | 'tool_credential_key.retire', details: Record<string, string | number | boolean | null>) => void;
}

const NAME = /^(\d{13,})-([A-Za-z0-9_-]{43})\.pem$/;
const JWKS_MAX_AGE_MS = 300_000;
const CREDENTIAL_TTL_MS = 300_000; // the issuer's largest allowed ttl

/** Refuses a schedule under which a credential or a cached JWKS could outlive the key that verifies it. */
export function checkSchedule(o: { rotateAfterMs: number; overlapMs: number; publishAheadMs: number }): void {
  if (!(o.rotateAfterMs > 0)) throw new Error('tool credential keys: rotateAfterMs must be > 0');
  if (o.overlapMs < CREDENTIAL_TTL_MS) throw new Error('tool credential keys: the overlap must outlast the credentials (≥ 300 s)');
  if (o.publishAheadMs < JWKS_MAX_AGE_MS) throw new Error('tool credential keys: publishAhead must cover the JWKS max-age (≥ 300 s)');
}

export class ToolCredentialKeys implements SigningKeys {
  private keys: StoredKey[] = [];
  private seen = -1;

  constructor(private readonly o: CredentialKeysOptions) {
    checkSchedule(o);
    mkdirSync(o.dir, { recursive: true, mode: 0o700 });
    if (o.legacyFile && existsSync(o.legacyFile) && this.read().length === 0) {
      const key = createPrivateKey(readFileSync(o.legacyFile, 'utf8'));
      // Active since it was made: it has signed credentials and backends may have pinned it.
      renameSync(o.legacyFile, join(o.dir, `${String(Math.floor(statSync(o.legacyFile).mtimeMs)).padStart(13, '0')}-${ed25519Kid(key)}.pem`));
    }
    this.keys = this.read();
    if (this.keys.length === 0) this.create(o.clock.now());
    this.refresh();
  }

  /** The keys on disk, oldest activation first (a file that is not a valid Ed25519 key refuses: fail closed). */
  private read(): StoredKey[] {
    const out: StoredKey[] = [];
    for (const f of readdirSync(this.o.dir)) {
      const m = NAME.exec(f);
      if (!m) continue;
      const file = join(this.o.dir, f);
      const key = createPrivateKey(readFileSync(file, 'utf8'));
      if (key.asymmetricKeyType !== 'ed25519' || ed25519Kid(key) !== m[2]) throw new FailClosed('tool_credential_key_invalid', `${file} is not the Ed25519 key its name says`);
      out.push({ file, kid: m[2]!, activeFrom: Number(m[1]), key });
    }
    return out.sort((a, b) => a.activeFrom - b.activeFrom || (a.kid < b.kid ? -1 : 1));
  }

  /** Reads the directory again when it changed (another process rotated or retired a key). */
  private refresh(): void {
    const m = statSync(this.o.dir).mtimeMs;
    if (m === this.seen) return;
    this.keys = this.read();
    this.seen = m;
  }

  private create(activeFrom: number): StoredKey {
    const { privateKey } = generateKeyPairSync('ed25519');
    const kid = ed25519Kid(privateKey);
    const file = join(this.o.dir, `${String(activeFrom).padStart(13, '0')}-${kid}.pem`);
    // 'wx': never overwrite; 0600 whatever the umask.
    writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    const k = { file, kid, activeFrom, key: privateKey };
    this.keys = [...this.keys, k].sort((a, b) => a.activeFrom - b.activeFrom);
    return k;
  }

  /** The newest key whose activation has come. */
  signing(): { kid: string; key: KeyObject } {
    this.refresh();
    return signingKey(this.keys, this.o.clock.now());
  }

  /** Every key a backend may meet: the one signing, the next one (published ahead), those in their overlap. */
  jwks(): JWK[] {
    this.refresh();
    return publishedKeys(this.keys, this.o.clock.now(), this.o.overlapMs);
  }

  /** Rotates when the newest key is due (none waiting to activate) and deletes keys past their overlap. */
  tick(): { rotated: string | null; retired: string[] } {
    this.refresh();
    const now = this.o.clock.now();
    const retired: string[] = [];
    for (const k of retiredKeys(this.keys, now, this.o.overlapMs)) {
      try {
        unlinkSync(k.file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // another process retired it first
        continue;
      }
      retired.push(k.kid);
      this.o.record('tool_credential_key.retire', retireDetails(k, now));
    }
    this.keys = this.keys.filter((k) => !retired.includes(k.kid));
    const newest = this.keys.at(-1)!;
    if (!rotationDue(this.keys, now, this.o.rotateAfterMs)) return { rotated: null, retired };
    const next = this.create(now + this.o.publishAheadMs);
    this.o.record('tool_credential_key.rotate', rotateDetails(next, newest, now, this.o.overlapMs));
    return { rotated: next.kid, retired };
  }
}
