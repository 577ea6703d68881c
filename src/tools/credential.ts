// Per-call backend credentials: a short-lived JWT minted for one tool call and one backend, so a
// backend never sees the user's or the agent's own token (which it could replay against Warden or
// other tools). Audience = the backend's origin; `args_digest` binds it to the exact arguments;
// `act` names the agent (RFC 8693 §4.1). Backends verify it with the JWKS from publicJwks().
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import type { Clock } from '../core/clock.js';
import type { Principal } from '../core/types.js';
import { fixedSigningKey, type SigningKeys } from './credential-keys.js';

export const TOOL_CREDENTIAL_TYP = 'wardentool+jwt';

export interface ToolCredentialInput {
  tool: string;
  /** Origin of the backend the credential is for (its audience). */
  audience: string;
  principal: Principal;
  argsDigest: string;
  requestId: string;
}

export class ToolCredentialIssuer {
  private readonly keys: SigningKeys;

  constructor(
    private readonly issuer: string,
    private readonly clock: Clock,
    private readonly ttlSec = 60,
    /** One fixed key, or the rotated set (credential-keys.ts); a fresh key when absent. */
    key?: KeyObject | SigningKeys,
  ) {
    this.keys = key === undefined ? fixedSigningKey(generateKeyPairSync('ed25519').privateKey) : 'signing' in key ? key : fixedSigningKey(key);
    if (!(ttlSec > 0 && ttlSec <= 300)) throw new TypeError('tool credentials: ttl must be 1..300 s');
  }

  async mint(i: ToolCredentialInput): Promise<string> {
    const now = Math.floor(this.clock.now() / 1000);
    const actor = i.principal.actor?.[0];
    const { kid, key } = this.keys.signing();
    return new SignJWT({
      tool: i.tool,
      tenant: i.principal.tenant,
      args_digest: i.argsDigest,
      request_id: i.requestId,
      scope: 'callTool',
      ...(actor ? { act: { sub: actor.id, kind: actor.kind } } : {}),
    })
      .setProtectedHeader({ alg: 'EdDSA', typ: TOOL_CREDENTIAL_TYP, kid })
      .setIssuer(this.issuer)
      .setSubject(i.principal.id)
      .setAudience(i.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.ttlSec)
      .setJti(randomUUID())
      .sign(key);
  }

  /** The keys a backend verifies with: while a rotation overlaps, the next and the previous one too. */
  async publicJwks(): Promise<{ keys: JWK[] }> {
    return { keys: this.keys.jwks() };
  }
}
