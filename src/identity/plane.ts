// Builds the identity plane's verifiers from the config for the listeners.
import { createPrivateKey, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { Clock } from '../core/clock.js';
import type { WardenConfig } from '../config/config.js';
import { ConfigError } from '../config/config.js';
import type { ApiKeyService } from './api-keys.js';
import { DpopVerifier, checkSenderBinding, HttpSignatureVerifier, JitTokenService, OidcVerifier, principalFromPeerCertificate, validateMtlsOptions, type MtlsPrincipalOptions, type SignatureClient } from './index.js';
import type { IdentityStore, JitKeyDirectory } from '../store/identity-store.js';
import type { SqliteDb } from '../store/sqlite.js';
import { SqliteRevocationStore } from './jit/sqlite-revocation-store.js';
import { loadIssuerCaFile } from './oidc/ca-file.js';
import type { RevocationStore } from './jit/revocation-store.js';
import type { NonceStore } from './http-signature/nonce-store.js';
import type { CredentialVerifiers } from './verifiers.js';
import type { Principal } from '../core/types.js';
import { Unauthenticated } from '../core/errors.js';

const STANDING_CHALLENGE = 'Bearer realm="warden", error="invalid_token"';

/** The JIT token signing key lives in the data dir (mode 0600) so issued tokens survive a restart. */
export function loadOrCreateEd25519(file: string): KeyObject {
  if (existsSync(file)) {
    const key = createPrivateKey(readFileSync(file, 'utf8'));
    if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError(`${file}: expected an Ed25519 private key`);
    return key;
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
  chmodSync(file, 0o600);
  return privateKey;
}

export interface IdentityPlane {
  verifiers: CredentialVerifiers;
  jit: JitTokenService;
  close(): Promise<void>;
}

export async function buildIdentity(
  config: WardenConfig,
  o: {
    clock: Clock;
    keys: ApiKeyService;
    store: IdentityStore;
    inferenceUrl: string;
    db: SqliteDb;
    /** Shared by replicas (cluster): token revocations and the DPoP / RFC 9421 replay caches. */
    revocations?: RevocationStore;
    nonces?: NonceStore;
    /** Shared by replicas (cluster): each publishes its public JIT key there and finds the others'. */
    jitKeys?: JitKeyDirectory;
  },
): Promise<IdentityPlane> {
  // Revocations persist in warden.db by default (embedded mode), so `tokens revoke` survives a restart;
  // a cluster passes its shared store (RedisRevocationStore).
  const revocations = o.revocations ?? new SqliteRevocationStore(o.db, o.clock);
  const jit = new JitTokenService({ signingKey: loadOrCreateEd25519(join(config.dataDir, 'jit-key.pem')), issuer: o.inferenceUrl, audience: o.inferenceUrl, clock: o.clock, revocations, ...(o.jitKeys ? { peerKeys: o.jitKeys } : {}) });
  // Cluster: every replica keeps its own private key and publishes the public half, so its tokens verify on all.
  if (o.jitKeys) {
    const jwk = await jit.publicJwk();
    await o.jitKeys.publishJitKey(jwk.kid!, jwk as JsonWebKey);
  }
  // Revoking or rotating a key, or erasing a principal, revokes the tokens derived from them.
  o.keys.setRevokeDerived((from, fromMs) => jit.revokeDerived(from, fromMs));
  // RFC 9449: tokens asked for with a DPoP proof are bound to its key; every use then needs a fresh proof.
  const dpop = new DpopVerifier({ clock: o.clock, ...(o.nonces ? { nonceStore: o.nonces } : {}) });
  const verifiers: CredentialVerifiers = {
    apiKey: (t) => o.keys.authenticate(t),
    jitToken: { issuer: o.inferenceUrl, verify: (t) => jit.verify(t) },
    senderBinding: (p, token, presented) => checkSenderBinding(dpop, p, token, presented),
    dpopProof: (proof, expect) => dpop.verify(proof, expect),
  };
  // A principal Warden holds a record for is refused once disabled or erased, whatever the credential
  // (API keys check it themselves, JIT tokens through the revocation cascade). One lookup per request.
  const standing = async (p: Principal): Promise<Principal> => {
    const r = await o.store.getPrincipal(p.id);
    if (r?.erasedAt) throw new Unauthenticated('invalid_credential', 'the credential is not accepted', STANDING_CHALLENGE, 'principal_erased');
    if (r?.disabledAt) throw new Unauthenticated('invalid_credential', 'the credential is not accepted', STANDING_CHALLENGE, 'principal_disabled');
    return p;
  };
  let oidc: OidcVerifier | null = null;
  if (config.oidc.issuers.length > 0) {
    // A caFile becomes the issuer's own trust anchors (read and checked now: a bad file refuses the start).
    const issuers = config.oidc.issuers.map(({ caFile, ...i }) => ({ scope: { models: [], actions: [] }, ...i, ...(caFile ? { caPem: loadIssuerCaFile(i.issuer, caFile) } : {}) }));
    oidc = new OidcVerifier({ issuers: issuers as never, clock: o.clock });
    const v = oidc;
    verifiers.oidc = async (t) => standing(await v.verify(t));
  }
  if (config.httpSignatures.clients.length > 0) {
    const clients: SignatureClient[] = [];
    for (const c of config.httpSignatures.clients) {
      const p = await o.store.getPrincipal(c.principal);
      if (!p) throw new ConfigError(`httpSignatures.clients: principal ${JSON.stringify(c.principal)} (keyId ${c.keyId}) does not exist; create it first`);
      let publicKey: string;
      try {
        publicKey = readFileSync(c.publicKeyFile, 'utf8');
      } catch (e) {
        throw new ConfigError(`httpSignatures.clients: cannot read ${c.publicKeyFile}: ${(e as Error).message}`);
      }
      clients.push({
        keyId: c.keyId,
        publicKey,
        ...(c.alg ? { alg: c.alg } : {}),
        principal: { kind: p.kind, id: p.id, tenant: p.tenant, groups: p.groups, scope: c.scope ?? { models: [], actions: [] }, ...(p.sourceCidrs ? { sourceCidrs: p.sourceCidrs } : {}), ...(p.limits ? { limits: p.limits } : {}) },
      });
    }
    const sig = new HttpSignatureVerifier({ clients, maxAgeSec: config.httpSignatures.windowSec, clock: o.clock, ...(o.nonces ? { nonceStore: o.nonces } : {}) });
    verifiers.httpSignature = async (m) => standing(await sig.verify(m as never));
  }
  if (config.listeners.inference.mtls !== 'off') {
    const opts: MtlsPrincipalOptions = {
      trustDomains: config.spiffe.trustDomains,
      tenant: { fixed: config.spiffe.tenant },
      scope: config.spiffe.scope,
      ...(config.spiffe.defaultKind ? { defaultKind: config.spiffe.defaultKind } : {}),
      ...(config.spiffe.rules.length ? { rules: config.spiffe.rules as never } : {}),
      clock: o.clock,
    };
    validateMtlsOptions(opts);
    // An SVID names a principal Warden may hold a record for: a disabled or erased one is refused too.
    verifiers.mtls = async (socket: TLSSocket) => standing(principalFromPeerCertificate(socket.getPeerCertificate(), opts));
  }
  return {
    verifiers,
    jit,
    async close() {
      await oidc?.close();
    },
  };
}
