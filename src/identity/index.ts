// Public surface of the identity plane. The gateway picks the method from the request
// (Authorization scheme, Signature-Input, client certificate) and calls one verifier; each returns
// a Principal or throws a WardenError (401 with WWW-Authenticate, 403, 400 or 503).
export { DEFAULT_REALM, bearerChallenge, InvalidBearerToken, InvalidClientCertificate, InvalidRequestSignature, IdentityConfigError } from './errors.js';

export { OidcVerifier, type OidcVerifierOptions } from './oidc/verifier.js';
export { DEFAULT_ALGORITHMS, ASYMMETRIC_ALGORITHMS, type OidcIssuerConfig, type OidcClaimsMapping, type AsymmetricAlgorithm } from './oidc/config.js';

export { principalFromPeerCertificate, validateMtlsOptions, type MtlsPrincipalOptions, type SpiffeMappingRule, type SpiffeTenantSource, type PeerCertificateInput } from './mtls/peer-principal.js';
export { parseSpiffeId, type SpiffeId } from './mtls/spiffe-id.js';

export { HttpSignatureVerifier, type HttpSignatureVerifierOptions, type SignatureClient, type VerifiedSignature } from './http-signature/verifier.js';
export { signRequest, type SignRequestOptions, type SignedFields } from './http-signature/sign.js';
export { contentDigest, verifyContentDigest, type DigestAlgorithm } from './http-signature/content-digest.js';
export { MemoryNonceStore, type NonceStore } from './http-signature/nonce-store.js';
export { RedisNonceStore } from './http-signature/redis-nonce-store.js';
export { SIGNATURE_ALGORITHMS, type SignatureAlgorithm } from './http-signature/algorithms.js';
export type { HttpRequestParts } from './http-signature/request.js';

export { JitTokenService, InvalidTarget, type JitTokenServiceOptions, type ExchangeInput, type ExchangeResult, type VerifiedJitToken } from './jit/service.js';
export { ScopeNotGranted, narrowScope, type ScopeRequest } from './jit/scope.js';
export { MemoryRevocationStore, type RevocationStore } from './jit/revocation-store.js';
export { RedisRevocationStore } from './jit/redis-revocation-store.js';
export {
  parseTokenExchangeRequest, GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_JWT, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ID_TOKEN,
  type TokenExchangeRequest, type InputTokenType,
} from './jit/token-exchange-request.js';
export { tokenServiceMetadata, type TokenServiceMetadataInput } from './jit/metadata.js';
export { DpopVerifier, checkSenderBinding, InvalidDpopProof, DPOP_ALGORITHMS, type DpopExpectation, type DpopVerifierOptions } from './dpop.js';
