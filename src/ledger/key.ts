// The ledger signing key: one Ed25519 key that signs checkpoints (C2SP note) and receipts (JWS EdDSA).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FailClosed } from '../core/errors.js';
import { ed25519KeyId, formatVerifierKey, parseVerifierKey, rawEd25519PublicKey, type NoteSigner, type NoteVerifier } from './note.js';

export const LEDGER_KEY_FILE = 'ledger-key.pem';
/** Default log origin and key name (tlog-checkpoint: a schema-less URL-like identifier). */
export const DEFAULT_LEDGER_ORIGIN = 'warden.local/audit';

export interface PublicLedgerKey {
  /** Key name = checkpoint origin. */
  name: string;
  /** C2SP verifier key `name+id+base64`, what `warden audit verify --key` takes. */
  vkey: string;
  publicKeyPem: string;
  /** RFC 7517 JWK with kid (RFC 7638 thumbprint), alg EdDSA, use sig. */
  publicJwk: { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' };
}

export interface LedgerKey extends PublicLedgerKey {
  publicKey: KeyObject;
  /** For signing checkpoints. */
  signer: NoteSigner;
  /** For checking our own stored checkpoints at startup. */
  verifier: NoteVerifier;
  /** JWS `kid` of receipts. */
  kid: string;
}

/** The key file exists with group/other permissions: someone else could have read or replaced it. */
export class LedgerKeyInsecure extends FailClosed {
  constructor(message: string) {
    super('ledger_key_insecure', message);
  }
}

function jwkThumbprint(x: string): string {
  // RFC 7638 §3.2: required members in lexicographic order, no whitespace.
  return createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
}

export function ledgerKeyFromPrivate(privateKey: KeyObject, name: string = DEFAULT_LEDGER_ORIGIN): LedgerKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new LedgerKeyInsecure(`ledger key must be Ed25519, got ${privateKey.asymmetricKeyType}`);
  return ledgerKeyFromSigner(createPublicKey(privateKey), (message) => edSign(null, message, privateKey), name, privateKey);
}

/**
 * A ledger key whose private half signs through `sign` (RFC 8032 Ed25519 over the message), wherever it
 * lives: a key file, or a PKCS#11 token that never lets it out.
 */
export function ledgerKeyFromSigner(publicKey: KeyObject, sign: (message: Buffer) => Buffer, name: string = DEFAULT_LEDGER_ORIGIN, privateKey?: KeyObject): LedgerKey {
  const pub = publicLedgerKeyOf(publicKey, name);
  return {
    ...pub,
    kid: pub.publicJwk.kid,
    publicKey,
    signer: { name, keyId: ed25519KeyId(name, rawEd25519PublicKey(publicKey)), sign, ...(privateKey ? { privateKey } : {}) },
    verifier: parseVerifierKey(pub.vkey),
  };
}

/** The published forms (vkey, PEM, JWK) of an Ed25519 public key of the log `name`. */
export function publicLedgerKeyOf(publicKey: KeyObject, name: string = DEFAULT_LEDGER_ORIGIN): PublicLedgerKey {
  const raw = rawEd25519PublicKey(publicKey);
  const x = raw.toString('base64url');
  const kid = jwkThumbprint(x);
  return {
    name,
    vkey: formatVerifierKey(name, raw),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' },
  };
}

/** Public half only, as published at /audit/v1/keys. */
export function publicLedgerKey(k: LedgerKey): PublicLedgerKey {
  return { name: k.name, vkey: k.vkey, publicKeyPem: k.publicKeyPem, publicJwk: k.publicJwk };
}

/**
 * Loads `<dataDir>/ledger-key.pem` (PKCS#8), or creates it with mode 0600. Refuses a key file that
 * group or others can access, because the ledger key is what makes the log's history unforgeable.
 */
export function loadOrCreateLedgerKey(dataDir: string, name: string = DEFAULT_LEDGER_ORIGIN): LedgerKey {
  return ledgerKeyFromPrivate(loadOrCreateEd25519Key(dataDir, LEDGER_KEY_FILE), name);
}

/** `<dataDir>/<fileName>` as a PKCS#8 Ed25519 key, created with mode 0600 if absent; refused if others can read it. */
export function loadOrCreateEd25519Key(dataDir: string, fileName: string): KeyObject {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, fileName);
  let pem: string;
  try {
    const st = statSync(file);
    if ((st.mode & 0o077) !== 0) throw new LedgerKeyInsecure(`${file} has mode ${(st.mode & 0o777).toString(8)}; it must be 600`);
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const { privateKey } = generateKeyPairSync('ed25519');
    pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    // 'wx': never overwrite a key another process created meanwhile.
    writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
  }
  return createPrivateKey(pem);
}
