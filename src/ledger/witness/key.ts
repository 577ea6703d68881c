// The witness's own Ed25519 key, `<dataDir>/witness-key.pem` (mode 0600), published as a cosignature/v1 vkey.
import { createPublicKey, sign as edSign, type KeyObject } from 'node:crypto';
import { cosignatureKeyId, formatCosignatureVerifierKey, type CosignatureSigner } from '../cosignature.js';
import { LedgerKeyInsecure, loadOrCreateEd25519Key } from '../key.js';
import { rawEd25519PublicKey } from '../note.js';

export const WITNESS_KEY_FILE = 'witness-key.pem';
export const DEFAULT_WITNESS_NAME = 'warden.local/witness';

export interface WitnessKey {
  name: string;
  /** What a log operator puts in `ledger.witnesses[].key` and an auditor passes to `--witness`. */
  vkey: string;
  signer: CosignatureSigner;
}

export function witnessKeyFromPrivate(privateKey: KeyObject, name: string): WitnessKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new LedgerKeyInsecure(`witness key must be Ed25519, got ${privateKey.asymmetricKeyType}`);
  const publicKey = createPublicKey(privateKey);
  return {
    name,
    vkey: formatCosignatureVerifierKey(name, publicKey),
    signer: { name, keyId: cosignatureKeyId(name, rawEd25519PublicKey(publicKey)), sign: (m) => edSign(null, m, privateKey) },
  };
}

export function loadOrCreateWitnessKey(dataDir: string, name: string = DEFAULT_WITNESS_NAME): WitnessKey {
  return witnessKeyFromPrivate(loadOrCreateEd25519Key(dataDir, WITNESS_KEY_FILE), name);
}
