// Public surface of runtime attestation. The gateway wires: createTrustAnchors at start-up, one
// AttestationMonitor for confidential deployments, isTrusted() in the route stage, and
// current() + releaseModelKey (../key-release.js) when a workload asks for its model key.
export * from './types.js';
export * from './errors.js';
export { verifyEvidence } from './verify-evidence.js';
export { AttestationMonitor, CHALLENGE_NONCE_BYTES, type AttestationMonitorOptions, type AttestationStatus } from './monitor.js';
export { createTrustAnchors, type TrustAnchorSources } from './trust.js';
export { isSealedVerifiedEvidence, referenceDigest } from './verified.js';
export { assertReferenceUsable, imageMeasurementProblem, JWT_IMAGE_CLAIMS } from './reference.js';
export { verifyNitroDocument } from './nitro/verify.js';
export { extractNitroDocumentFromCertificate } from './nitro/evervault-cert.js';
export { verifySnpReportAuthenticity } from './sev-snp/verify.js';
export { verifyTdxQuoteAuthenticity } from './tdx/verify.js';
export { parseTdxQuote, type TdxQuote } from './tdx/quote.js';
export { INTEL_SGX_ROOT_CA_PEM } from './tdx/intel-root.js';
export { AttestationCollateralInvalid, tdxCollateralDirectory } from './tdx/collateral.js';
export { MIN_NONCE_BYTES } from './nonce.js';
