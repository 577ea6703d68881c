// Signing with a key held in a PKCS#11 token (HSM, SoftHSM2, cloud HSM). The private key never
// leaves the token: we hash locally (the data is not secret), the token signs the digest with
// CKM_ECDSA and returns raw r||s, which we DER-encode like every other signature we write.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { findTokenObject, openTokenSession, type Pkcs11Fail, type Pkcs11Handle, type TokenSession } from '../../core/pkcs11-token.js';
import { Pkcs11Unavailable } from './errors.js';
import { ecdsaRawToDer, type KeyAlgorithm, type Signer } from './keys.js';
import { parsePkcs11Uri, type Pkcs11KeyRef } from './pkcs11-uri.js';

type Handle = Pkcs11Handle;

// DER-encoded curve OIDs as found in CKA_EC_PARAMS.
const P256_OID = Buffer.from('06082a8648ce3d030107', 'hex');
const P384_OID = Buffer.from('06052b81040022', 'hex');

export interface Pkcs11Signer extends Signer {
  /** Logs out and closes the session. */
  close(): void;
}

const wrap = (what: string, e: unknown) => new Pkcs11Unavailable(`${what}: ${(e as Error).message}`);

/** The model signer's wording for each token failure. */
function failure(ref: Pkcs11KeyRef, cls?: number): Pkcs11Fail {
  const what = () => `${cls === pkcs11js.CKO_PRIVATE_KEY ? 'private' : 'public'} key ${ref.object ?? ref.id?.toString('hex')}`;
  return (f) => {
    switch (f.step) {
      case 'load':
        return new Pkcs11Unavailable(`cannot load PKCS#11 module ${ref.modulePath}: ${f.detail}`);
      case 'initialize':
        return new Pkcs11Unavailable(`C_Initialize failed: ${f.detail}`);
      case 'no_token':
        return new Pkcs11Unavailable(`no token labelled ${JSON.stringify(ref.token)}`);
      case 'pin':
      case 'login':
        return new Pkcs11Unavailable(`token login failed: ${f.detail}`);
      case 'no_object':
        return new Pkcs11Unavailable(`no ${what()} on token ${ref.token}`);
      case 'ambiguous_object':
        return new Pkcs11Unavailable(`${what()} is ambiguous on token ${ref.token}`);
    }
  };
}

function openSession(ref: Pkcs11KeyRef): TokenSession {
  return openTokenSession({ module: ref.modulePath, token: ref.token, pin: ref.pin, readWrite: true }, failure(ref));
}

function findKey(t: TokenSession, cls: number, ref: Pkcs11KeyRef): Handle {
  const template: pkcs11js.Template = [{ type: pkcs11js.CKA_CLASS, value: cls }];
  if (ref.object !== undefined) template.push({ type: pkcs11js.CKA_LABEL, value: ref.object });
  if (ref.id !== undefined) template.push({ type: pkcs11js.CKA_ID, value: ref.id });
  return findTokenObject(t, template, failure(ref, cls));
}

/** Builds a KeyObject from the token's public key (CKA_EC_PARAMS + CKA_EC_POINT). */
function publicKeyOf(p: pkcs11js.PKCS11, session: Handle, pub: Handle): { key: KeyObject; algorithm: KeyAlgorithm } {
  const [params, point] = p.C_GetAttributeValue(session, pub, [{ type: pkcs11js.CKA_EC_PARAMS }, { type: pkcs11js.CKA_EC_POINT }]).map((a) => a.value);
  const crv = params!.equals(P256_OID) ? 'P-256' : params!.equals(P384_OID) ? 'P-384' : undefined;
  if (!crv) throw new Pkcs11Unavailable('token key is not an ECDSA P-256 or P-384 key');
  const coord = crv === 'P-256' ? 32 : 48;
  // CKA_EC_POINT is a DER OCTET STRING around the uncompressed point (PKCS#11 v2.40 §2.3.3); some tokens omit the wrapper.
  let q = point!;
  if (q.length === 2 * coord + 3 && q[0] === 0x04) q = q.subarray(2);
  if (q.length !== 2 * coord + 1 || q[0] !== 0x04) throw new Pkcs11Unavailable('token returned an EC point we cannot read');
  const b64 = (b: Buffer) => b.toString('base64url');
  const key = createPublicKey({ key: { kty: 'EC', crv, x: b64(q.subarray(1, 1 + coord)), y: b64(q.subarray(1 + coord)) }, format: 'jwk' });
  return { key, algorithm: crv === 'P-256' ? 'ecdsa-p256' : 'ecdsa-p384' };
}

export function openPkcs11Signer(uri: string, env: NodeJS.ProcessEnv = process.env): Pkcs11Signer {
  const ref = parsePkcs11Uri(uri, env);
  const t = openSession(ref);
  const { p, session } = t;
  try {
    const priv = findKey(t, pkcs11js.CKO_PRIVATE_KEY, ref);
    const { key, algorithm } = publicKeyOf(p, session, findKey(t, pkcs11js.CKO_PUBLIC_KEY, ref));
    const hash = algorithm === 'ecdsa-p256' ? 'sha256' : 'sha384';
    let queue: Promise<unknown> = Promise.resolve();
    const signOnce = (data: Uint8Array) =>
      new Promise<Buffer>((resolve, reject) => {
        try {
          p.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, priv);
          p.C_Sign(session, createHash(hash).update(data).digest(), Buffer.alloc(algorithm === 'ecdsa-p256' ? 64 : 96), (err, sig) =>
            err ? reject(wrap('token signing failed', err)) : resolve(ecdsaRawToDer(sig)),
          );
        } catch (e) {
          reject(wrap('token signing failed', e));
        }
      });
    return {
      algorithm,
      publicKey: key,
      description: `pkcs11:token=${ref.token};object=${ref.object ?? ''}`,
      // One operation at a time per session (PKCS#11 sessions are stateful).
      sign: (data) => {
        const next = queue.then(() => signOnce(data));
        queue = next.catch(() => undefined);
        return next;
      },
      close: t.close,
    };
  } catch (e) {
    p.C_CloseSession(session);
    throw e;
  }
}

/**
 * Generates an ECDSA P-256 key pair inside the token: sensitive, never extractable. Returns the
 * public key. For operators without pkcs11-tool, and for tests.
 */
export function generatePkcs11EcKey(uri: string, env: NodeJS.ProcessEnv = process.env): KeyObject {
  const ref = parsePkcs11Uri(uri, env);
  if (!ref.object) throw new Pkcs11Unavailable('name the new key with object=...');
  const { p, session } = openSession(ref);
  try {
    const label = ref.object;
    const id = ref.id ?? createHash('sha256').update(label).digest().subarray(0, 8);
    const keys = p.C_GenerateKeyPair(
      session,
      { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
      [
        { type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_LABEL, value: label }, { type: pkcs11js.CKA_ID, value: id },
        { type: pkcs11js.CKA_VERIFY, value: true }, { type: pkcs11js.CKA_EC_PARAMS, value: P256_OID },
      ],
      [
        { type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_LABEL, value: label }, { type: pkcs11js.CKA_ID, value: id },
        { type: pkcs11js.CKA_SIGN, value: true }, { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true }, { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      ],
    );
    return publicKeyOf(p, session, keys.publicKey).key;
  } catch (e) {
    throw e instanceof Pkcs11Unavailable ? e : wrap('key generation failed', e);
  } finally {
    p.C_CloseSession(session);
  }
}
