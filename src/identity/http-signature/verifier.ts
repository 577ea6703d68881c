// RFC 9421 request-signature verification for registered clients, with RFC 9530 Content-Digest
// and replay protection. Each check is an early throw; the only path that returns is the one on
// which the signature verified, the digest matched and the nonce was fresh.
import { isInnerList, parseDictionary, type Dictionary, type InnerList } from 'structured-headers';
import type { KeyObject } from 'node:crypto';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Principal } from '../../core/types.js';
import { DEFAULT_REALM, IdentityConfigError, InvalidRequestSignature } from '../errors.js';
import { algorithmForKey, toPublicKey, verifySignature, type PublicKeyInput, type SignatureAlgorithm } from './algorithms.js';
import { verifyContentDigest } from './content-digest.js';
import { MemoryNonceStore, type NonceStore } from './nonce-store.js';
import { fieldLines, type HttpRequestParts } from './request.js';
import { buildSignatureBase } from './signature-base.js';

export interface SignatureClient {
  keyId: string;
  publicKey: PublicKeyInput;
  /** Optional; must agree with the key type. RSA keys require `rsa-pss-sha512`. */
  alg?: SignatureAlgorithm;
  /** Who this client is; `authn` is filled in by the verifier. */
  principal: Omit<Principal, 'authn'>;
}

export interface HttpSignatureVerifierOptions {
  clients: SignatureClient[];
  /** Oldest acceptable `created`, seconds; default 300. Also the nonce lifetime. */
  maxAgeSec?: number;
  /** How far in the future `created` may be (clock skew), seconds; default 30. */
  clockSkewSec?: number;
  /** Components every signature must cover; default `@method`, `@target-uri`. */
  requiredComponents?: string[];
  /** With a non-empty body, `content-digest` must be covered and match (RFC 9530); default true. */
  requireContentDigest?: boolean;
  /** Require a `nonce` parameter and refuse its reuse; default true. */
  requireNonce?: boolean;
  nonceStore?: NonceStore;
  clock?: Clock;
  realm?: string;
}

interface RegisteredClient {
  keyId: string;
  key: KeyObject;
  alg: SignatureAlgorithm;
  principal: Principal;
}

export interface VerifiedSignature {
  principal: Principal;
  keyId: string;
  label: string;
  created: number;
  nonce: string | undefined;
  /** Components the signature covered, as identifiers (for the audit entry). */
  covered: string[];
}

export class HttpSignatureVerifier {
  private readonly clients = new Map<string, RegisteredClient>();
  private readonly maxAgeSec: number;
  private readonly clockSkewSec: number;
  private readonly required: string[];
  private readonly requireContentDigest: boolean;
  private readonly requireNonce: boolean;
  private readonly nonces: NonceStore;
  private readonly clock: Clock;
  private readonly realm: string;

  constructor(opts: HttpSignatureVerifierOptions) {
    for (const c of opts.clients) {
      if (!c.keyId) throw new IdentityConfigError('http signature client without keyId');
      if (this.clients.has(c.keyId)) throw new IdentityConfigError(`http signature client ${c.keyId} registered twice`);
      const key = toPublicKey(c.publicKey);
      const alg = algorithmForKey(key, c.alg, c.keyId);
      const principal: Principal = { ...c.principal, authn: { method: 'http_signature', credentialId: c.keyId } };
      this.clients.set(c.keyId, { keyId: c.keyId, key, alg, principal: Object.freeze(principal) });
    }
    this.maxAgeSec = opts.maxAgeSec ?? 300;
    this.clockSkewSec = opts.clockSkewSec ?? 30;
    if (!(this.maxAgeSec > 0 && this.clockSkewSec >= 0)) throw new IdentityConfigError('http signature: maxAgeSec must be > 0 and clockSkewSec >= 0');
    this.required = opts.requiredComponents ?? ['@method', '@target-uri'];
    this.requireContentDigest = opts.requireContentDigest ?? true;
    this.requireNonce = opts.requireNonce ?? true;
    this.clock = opts.clock ?? systemClock;
    this.nonces = opts.nonceStore ?? new MemoryNonceStore(undefined, this.clock);
    this.realm = opts.realm ?? DEFAULT_REALM;
  }

  /** True when the request carries RFC 9421 signature fields (lets the gateway pick this method). */
  static isSigned(request: Pick<HttpRequestParts, 'headers'>): boolean {
    const f = fieldLines(request.headers);
    return f.has('signature-input') || f.has('signature');
  }

  async verify(request: HttpRequestParts): Promise<Principal> {
    return (await this.verifyDetailed(request)).principal;
  }

  async verifyDetailed(request: HttpRequestParts): Promise<VerifiedSignature> {
    const fields = fieldLines(request.headers);
    const inputs = this.parseDict(fields.get('signature-input'), 'signature_input');
    const signatures = this.parseDict(fields.get('signature'), 'signature');

    // §3.2 leaves the choice of signature to the verifier: consider those made with a key we know,
    // and require exactly one, so the outcome never depends on which of several we happened to pick.
    const candidates: [string, InnerList, RegisteredClient][] = [];
    for (const [label, member] of inputs) {
      if (!isInnerList(member)) throw this.fail('signature_input_malformed');
      const keyId: unknown = member[1].get('keyid');
      const client = typeof keyId === 'string' ? this.clients.get(keyId) : undefined;
      if (client) candidates.push([label, member, client]);
    }
    if (candidates.length === 0) throw this.fail('keyid_unknown');
    if (candidates.length > 1) throw this.fail('signature_ambiguous');
    const [label, covered, client] = candidates[0]!;
    const params = covered[1];

    const alg: unknown = params.get('alg');
    if (alg !== undefined && alg !== client.alg) throw this.fail('alg_mismatch'); // §3.2 step 5

    const names = covered[0].map((i): unknown => i[0]);
    for (const r of this.required) if (!names.includes(r)) throw this.fail('required_component_not_covered');
    const body = request.body ?? new Uint8Array(0);
    if (this.requireContentDigest && body.length > 0 && !names.includes('content-digest')) {
      throw this.fail('content_digest_not_covered');
    }

    const created: unknown = params.get('created');
    if (typeof created !== 'number' || !Number.isInteger(created)) throw this.fail('created_missing');
    const nowSec = this.clock.now() / 1000;
    if (created > nowSec + this.clockSkewSec) throw this.fail('created_in_future');
    if (nowSec - created > this.maxAgeSec) throw this.fail('created_too_old');
    const expires: unknown = params.get('expires');
    if (expires !== undefined && (typeof expires !== 'number' || nowSec > expires)) throw this.fail('signature_expired');
    const nonceParam: unknown = params.get('nonce');
    const nonce = typeof nonceParam === 'string' ? nonceParam : undefined;
    if (nonceParam !== undefined && (nonce === undefined || nonce.length === 0 || nonce.length > 256)) throw this.fail('nonce_malformed');
    if (this.requireNonce && nonce === undefined) throw this.fail('nonce_missing');

    if (names.includes('content-digest')) {
      const digest = fields.get('content-digest');
      verifyContentDigest(digest === undefined ? undefined : digest.join(', '), body, this.realm);
    }

    const signature = signatures.get(label);
    if (signature === undefined || isInnerList(signature) || !(signature[0] instanceof ArrayBuffer)) throw this.fail('signature_missing');
    const base = buildSignatureBase(covered, request, this.realm);
    if (!verifySignature(client.alg, client.key, Buffer.from(base), Buffer.from(signature[0]))) throw this.fail('signature_invalid');

    // Recorded only after the signature verified, so unauthenticated traffic cannot burn nonces.
    if (nonce !== undefined) {
      const ttlMs = (this.maxAgeSec + this.clockSkewSec) * 1000;
      if (!(await this.nonces.checkAndRecord(`${client.keyId}\n${nonce}`, ttlMs))) throw this.fail('nonce_replayed');
    }
    return {
      principal: client.principal,
      keyId: client.keyId,
      label,
      created,
      nonce,
      covered: covered[0].map((i) => String(i[0])),
    };
  }

  private parseDict(lines: string[] | undefined, what: string): Dictionary {
    if (!lines || lines.length === 0) throw this.fail(`${what}_missing`);
    try {
      return parseDictionary(lines.join(', '));
    } catch {
      throw this.fail(`${what}_malformed`);
    }
  }

  private fail(reason: string): InvalidRequestSignature {
    return new InvalidRequestSignature(reason, this.realm);
  }
}
