// A KEK held in a PKCS#11 token (an HSM; SoftHSM2 in tests): an AES-256 secret key, sensitive and not
// extractable. Data keys are wrapped and unwrapped ON the token with CKM_AES_GCM (PKCS#11 v2.40 §2.10.3), so the
// KEK never exists in Warden's memory; deleting the key on the token (or the token refusing) withdraws it at once.
import { randomBytes } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { findTokenObject, openTokenSession, type Pkcs11Fail, type Pkcs11Handle, type TokenSession } from '../../core/pkcs11-token.js';
import { EnvelopeTampered, KekUnavailable } from './errors.js';
import type { KeyEncryptionKey } from './kek.js';
import { KEY_BYTES } from './key-file.js';

export interface Pkcs11KekConfig {
  pkcs11: { module: string; tokenLabel: string; keyLabel: string };
  /** Environment variable holding the user PIN (never the PIN itself in a config file). */
  pinEnv: string;
}

const IV = 12;
const TAG = 16;
const code = (e: unknown) => (e as { code?: number }).code;
const aad = (context: string) => Buffer.from(`warden-kek-wrap:v1|${context}`);

function failure(cfg: Pkcs11KekConfig): Pkcs11Fail {
  const { module, tokenLabel, keyLabel } = cfg.pkcs11;
  const token = JSON.stringify(tokenLabel);
  return (f) => {
    switch (f.step) {
      case 'load':
        return new KekUnavailable(`KEK pkcs11: cannot load the PKCS#11 module ${module}: ${f.detail}`);
      case 'initialize':
        return new KekUnavailable(`KEK pkcs11: C_Initialize failed: ${f.detail}`);
      case 'no_token':
        return new KekUnavailable(`KEK pkcs11: no PKCS#11 token labelled ${token} in ${module}`);
      case 'pin':
        return new KekUnavailable(`KEK pkcs11: the PIN in ${cfg.pinEnv} was refused by token ${token}`);
      case 'login':
        return new KekUnavailable(`KEK pkcs11: login to token ${token} failed: ${f.detail}`);
      case 'no_object':
        return new KekUnavailable(`KEK pkcs11: token ${token} has no AES secret key labelled ${JSON.stringify(keyLabel)}`);
      case 'ambiguous_object':
        return new KekUnavailable(`KEK pkcs11: secret key label ${JSON.stringify(keyLabel)} is ambiguous on token ${token}`);
    }
  };
}

export class Pkcs11Kek implements KeyEncryptionKey {
  readonly id: string;

  private constructor(
    private readonly t: TokenSession,
    private readonly key: Pkcs11Handle,
    cfg: Pkcs11KekConfig,
  ) {
    this.id = `pkcs11:${cfg.pkcs11.tokenLabel}/${cfg.pkcs11.keyLabel}`;
  }

  /** Opens the token, logs in with the PIN from `pinEnv` and finds the AES key by label; any failure is KekUnavailable. */
  static open(cfg: Pkcs11KekConfig, env: NodeJS.ProcessEnv = process.env): Pkcs11Kek {
    const pin = env[cfg.pinEnv];
    if (!pin) throw new KekUnavailable(`KEK pkcs11: the token PIN variable ${cfg.pinEnv} is not set`);
    const fail = failure(cfg);
    const t = openTokenSession({ module: cfg.pkcs11.module, token: cfg.pkcs11.tokenLabel, pin }, fail);
    try {
      const key = findTokenObject(
        t,
        [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
          { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
          { type: pkcs11js.CKA_LABEL, value: cfg.pkcs11.keyLabel },
        ],
        fail,
      );
      const [len] = t.p.C_GetAttributeValue(t.session, key, [{ type: pkcs11js.CKA_VALUE_LEN }]).map((a) => a.value as Buffer);
      if (!len || len.readUIntLE(0, Math.min(len.length, 6)) !== KEY_BYTES) throw new KekUnavailable(`KEK pkcs11: key ${JSON.stringify(cfg.pkcs11.keyLabel)} is not AES-256`);
      return new Pkcs11Kek(t, key, cfg);
    } catch (e) {
      t.close();
      throw e;
    }
  }

  private mechanism(iv: Buffer, context: string): pkcs11js.Mechanism {
    return { mechanism: pkcs11js.CKM_AES_GCM, parameter: { type: pkcs11js.CK_PARAMS_AES_GCM, iv, aad: aad(context), ivBits: IV * 8, tagBits: TAG * 8 } as pkcs11js.AesGCM };
  }

  /** A token error on a handle that is gone is a withdrawal; any other is the token refusing. */
  private unavailable(e: unknown): KekUnavailable {
    const c = code(e);
    const gone = c === pkcs11js.CKR_OBJECT_HANDLE_INVALID || c === pkcs11js.CKR_KEY_HANDLE_INVALID;
    return new KekUnavailable(gone ? `KEK ${this.id} is withdrawn: the key is no longer on the token` : `KEK ${this.id}: the token refused: ${(e as Error).message}`);
  }

  wrap(dataKey: Buffer, context: string): Promise<Buffer> {
    return Promise.resolve().then(() => {
      if (dataKey.length !== KEY_BYTES) throw new Error(`a data key is ${KEY_BYTES} bytes`);
      const iv = randomBytes(IV);
      try {
        this.t.p.C_EncryptInit(this.t.session, this.mechanism(iv, context), this.key);
        return Buffer.concat([iv, this.t.p.C_Encrypt(this.t.session, dataKey, Buffer.alloc(KEY_BYTES + TAG))]);
      } catch (e) {
        throw this.unavailable(e);
      }
    });
  }

  unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
    return Promise.resolve().then(() => {
      if (wrapped.length !== IV + KEY_BYTES + TAG) throw new EnvelopeTampered(`wrapped key for ${context} has ${wrapped.length} bytes`);
      try {
        this.t.p.C_DecryptInit(this.t.session, this.mechanism(wrapped.subarray(0, IV), context), this.key);
      } catch (e) {
        throw this.unavailable(e);
      }
      try {
        // SoftHSM2 answers a failed GCM tag with CKR_GENERAL_ERROR, others with CKR_ENCRYPTED_DATA_INVALID.
        return Buffer.from(this.t.p.C_Decrypt(this.t.session, wrapped.subarray(IV), Buffer.alloc(KEY_BYTES + TAG)));
      } catch {
        throw new EnvelopeTampered(`wrapped key for ${context} does not open with KEK ${this.id}`);
      }
    });
  }

  close(): void {
    this.t.close();
  }
}
