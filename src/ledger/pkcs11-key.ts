// The ledger signing key held in a PKCS#11 token (HSM, SoftHSM2): an Ed25519 key used with CKM_EDDSA.
// The private key never leaves the token, so a copy of the data dir is not a copy of the key: whoever
// takes the data dir cannot re-sign a rewritten log (witnesses still guard against the token's owner).
import { createPublicKey, verify as edVerify, type KeyObject } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { FailClosed } from '../core/errors.js';
import { findTokenObject, openTokenSession, type Pkcs11Fail, type Pkcs11Handle } from '../core/pkcs11-token.js';
import { DEFAULT_LEDGER_ORIGIN, ledgerKeyFromSigner, type LedgerKey } from './key.js';

// PKCS#11 v3.0 §2.3.5-2.3.6 (pkcs11js 2.x exports no names for them).
export const CKK_EC_EDWARDS = 0x40;
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;
/** CKA_EC_PARAMS of Ed25519: the DER OID 1.3.101.112, or the PrintableString "edwards25519" (v3.0 §2.3.5). */
export const ED25519_OID = Buffer.from('06032b6570', 'hex');
const ED25519_NAME = Buffer.concat([Buffer.from([0x13, 12]), Buffer.from('edwards25519')]);

export interface Pkcs11KeyConfig {
  pkcs11: { module: string; tokenLabel: string; keyLabel: string };
  /** Environment variable holding the user PIN (never the PIN itself in a config file). */
  pinEnv: string;
}

/** The configured token key cannot be used: Warden refuses to start rather than sign with anything else. */
export class LedgerKeyUnavailable extends FailClosed {
  constructor(message: string) {
    super('ledger_key_unavailable', message);
  }
}

export interface Pkcs11LedgerKey {
  key: LedgerKey;
  /** Logs out and closes the session. */
  close(): void;
}

const detail = (e: unknown) => (e as Error).message;

/** The ledger's wording for each token failure (operators see it as the one start-up refusal line). */
function failure(cfg: Pkcs11KeyConfig, objectClass?: 'private' | 'public'): Pkcs11Fail {
  const { module, tokenLabel, keyLabel } = cfg.pkcs11;
  const token = JSON.stringify(tokenLabel);
  return (f) => {
    switch (f.step) {
      case 'load':
        return new LedgerKeyUnavailable(`ledger.signingKey: cannot load the PKCS#11 module ${module}: ${f.detail}`);
      case 'initialize':
        return new LedgerKeyUnavailable(`ledger.signingKey: C_Initialize failed: ${f.detail}`);
      case 'no_token':
        return new LedgerKeyUnavailable(`ledger.signingKey: no PKCS#11 token labelled ${token} in ${module}`);
      case 'pin':
        return new LedgerKeyUnavailable(`ledger.signingKey: the PIN in ${cfg.pinEnv} was refused by token ${token}`);
      case 'login':
        return new LedgerKeyUnavailable(`ledger.signingKey: login to token ${token} failed: ${f.detail}`);
      case 'no_object':
        return new LedgerKeyUnavailable(`ledger.signingKey: token ${token} has no ${objectClass} key labelled ${JSON.stringify(keyLabel)}`);
      case 'ambiguous_object':
        return new LedgerKeyUnavailable(`ledger.signingKey: ${objectClass} key label ${JSON.stringify(keyLabel)} is ambiguous on token ${token}`);
    }
  };
}

const byLabel = (cls: number, label: string): pkcs11js.Template => [{ type: pkcs11js.CKA_CLASS, value: cls }, { type: pkcs11js.CKA_LABEL, value: label }];

/** CKA_EC_POINT of an Edwards key: the 32-byte public key, DER OCTET STRING-wrapped or bare. */
function ed25519PublicKey(p: pkcs11js.PKCS11, session: Pkcs11Handle, pub: Pkcs11Handle, label: string): KeyObject {
  const [type, params, point] = p.C_GetAttributeValue(session, pub, [{ type: pkcs11js.CKA_KEY_TYPE }, { type: pkcs11js.CKA_EC_PARAMS }, { type: pkcs11js.CKA_EC_POINT }]).map((a) => a.value);
  // CK_ULONG in host byte order (little-endian on the platforms Node ships for).
  if (type!.length < 1 || type![0] !== CKK_EC_EDWARDS || type!.subarray(1).some((b) => b !== 0) || !(params!.equals(ED25519_OID) || params!.equals(ED25519_NAME))) {
    throw new LedgerKeyUnavailable(`ledger.signingKey: key ${JSON.stringify(label)} is not an Ed25519 key (CKK_EC_EDWARDS on edwards25519)`);
  }
  let raw = point!;
  if (raw.length === 34 && raw[0] === 0x04 && raw[1] === 32) raw = raw.subarray(2);
  if (raw.length !== 32) throw new LedgerKeyUnavailable(`ledger.signingKey: key ${JSON.stringify(label)} has an EC point of ${raw.length} bytes, expected 32`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/**
 * Opens the token, logs in with the PIN from `pinEnv`, finds the key pair by label and proves it signs
 * (a probe signature must verify with the token's public key). Any failure is a refusal to start.
 */
export function openPkcs11LedgerKey(cfg: Pkcs11KeyConfig, name: string = DEFAULT_LEDGER_ORIGIN, env: NodeJS.ProcessEnv = process.env): Pkcs11LedgerKey {
  const { module, tokenLabel, keyLabel } = cfg.pkcs11;
  const pin = env[cfg.pinEnv];
  if (!pin) throw new LedgerKeyUnavailable(`ledger.signingKey: the token PIN variable ${cfg.pinEnv} is not set`);
  const t = openTokenSession({ module, token: tokenLabel, pin }, failure(cfg));
  const { p, session } = t;
  try {
    const priv = findTokenObject(t, byLabel(pkcs11js.CKO_PRIVATE_KEY, keyLabel), failure(cfg, 'private'));
    const publicKey = ed25519PublicKey(p, session, findTokenObject(t, byLabel(pkcs11js.CKO_PUBLIC_KEY, keyLabel), failure(cfg, 'public')), keyLabel);
    // Synchronous C_Sign: the ledger signs one checkpoint per batch, in order, on one session.
    const sign = (message: Buffer): Buffer => {
      try {
        p.C_SignInit(session, { mechanism: CKM_EDDSA }, priv);
        return Buffer.from(p.C_Sign(session, message, Buffer.alloc(64)));
      } catch (e) {
        throw new LedgerKeyUnavailable(`ledger signing key on token ${JSON.stringify(tokenLabel)} failed to sign: ${detail(e)}`);
      }
    };
    const probe = Buffer.from(`warden ledger key probe ${Date.now()}`);
    if (!edVerify(null, probe, publicKey, sign(probe))) throw new LedgerKeyUnavailable(`ledger.signingKey: private and public key ${JSON.stringify(keyLabel)} on token ${JSON.stringify(tokenLabel)} do not form a pair`);
    return { key: ledgerKeyFromSigner(publicKey, sign, name), close: t.close };
  } catch (e) {
    try {
      p.C_CloseSession(session);
    } catch {
      // the session is already gone
    }
    throw e;
  }
}
