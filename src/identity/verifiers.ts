// What the identity plane hands the listeners: one verifier per credential form. The gateway's and the
// admin listener's identity stage (src/gateway/stages/identity.ts) picks the one a request's credential calls for.
import type { TLSSocket } from 'node:tls';
import type { Principal } from '../core/types.js';
import type { Presented } from '../http/credentials.js';

export interface CredentialVerifiers {
  apiKey(token: string): Promise<Principal>;
  /** Warden-issued JIT/exchange tokens (`iss` = Warden). */
  jitToken?: { issuer: string; verify(token: string): Promise<Principal> };
  oidc?: (token: string) => Promise<Principal>;
  httpSignature?: (msg: { method: string; targetUri: string; headers: Record<string, string | string[] | undefined>; body: Buffer }) => Promise<Principal>;
  /** Maps a TLS-verified client certificate to a workload principal (SPIFFE). */
  mtls?: (socket: TLSSocket) => Promise<Principal>;
  /** RFC 9449: checks a token's sender binding against the request's DPoP proof (identity plane). */
  senderBinding?: (principal: Principal, token: string, presented: Presented) => Promise<void>;
  /** RFC 9449: verifies a proof sent without an access token (the token endpoint); returns its key's thumbprint. */
  dpopProof?: (proof: string | undefined, expect: { method: string; url: string }) => Promise<string>;
}
