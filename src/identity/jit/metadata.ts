// RFC 8414 authorization server metadata for what Warden itself issues, and nothing more: RFC 8693 token
// exchange at its token endpoint. Warden logs no one in (the configured OIDC issuers do, and serve their own
// metadata), so there is no authorization endpoint, no response type and no client registration to announce.
import { GRANT_TYPE_TOKEN_EXCHANGE } from './token-exchange-request.js';

export interface TokenServiceMetadataInput {
  /** `iss` of the tokens Warden issues (the inference listener's public origin). */
  issuer: string;
  /** Absolute URL of the RFC 8693 token endpoint. */
  tokenEndpoint: string;
  /** Proof algorithms accepted when DPoP is enabled (RFC 9449 §5.1); absent: DPoP is not offered. */
  dpopAlgorithms?: readonly string[];
}

export function tokenServiceMetadata(i: TokenServiceMetadataInput): Record<string, unknown> {
  return {
    issuer: i.issuer,
    token_endpoint: i.tokenEndpoint,
    grant_types_supported: [GRANT_TYPE_TOKEN_EXCHANGE],
    // RFC 8414 §2 requires the member; empty because no grant of Warden's uses an authorization endpoint.
    response_types_supported: [],
    // RFC 8693 §2.1: the subject (and actor) token authenticate the request; there are no client credentials.
    token_endpoint_auth_methods_supported: ['none'],
    ...(i.dpopAlgorithms ? { dpop_signing_alg_values_supported: [...i.dpopAlgorithms] } : {}),
  };
}
