// Identity-plane errors. Clients see only the code and a generic message (RFC 6750 §3.1 lets a
// bearer challenge say "invalid_token", nothing about which claim failed); `reason` is a
// machine-readable cause for logs and the audit entry, never for the response body.
import { Unauthenticated } from '../core/errors.js';

export const DEFAULT_REALM = 'warden';

/** RFC 6750 §3 challenge for a rejected bearer token. */
export function bearerChallenge(realm: string, error?: 'invalid_token' | 'invalid_request'): string {
  return error ? `Bearer realm="${realm}", error="${error}"` : `Bearer realm="${realm}"`;
}

/** An OIDC or Warden JIT bearer token was rejected (401, `Bearer error="invalid_token"`). */
export class InvalidBearerToken extends Unauthenticated {
  declare reason: string;
  constructor(reason: string, realm: string = DEFAULT_REALM, message = 'the access token is invalid') {
    super('invalid_token', message, bearerChallenge(realm, 'invalid_token'), reason);
  }
}

/** A client certificate did not yield a workload identity (401). No HTTP challenge is registered for
 * mutual TLS (RFC 8705 defines none), so the challenge names the bearer realm for the other methods. */
export class InvalidClientCertificate extends Unauthenticated {
  declare reason: string;
  constructor(reason: string, realm: string = DEFAULT_REALM) {
    super('invalid_client_certificate', 'the client certificate is not an acceptable workload identity', bearerChallenge(realm), reason);
  }
}

/** An RFC 9421 request signature was rejected (401). RFC 9421 registers no auth scheme; the
 * challenge uses `Signature` with the realm so clients can tell which method was refused. */
export class InvalidRequestSignature extends Unauthenticated {
  declare reason: string;
  constructor(reason: string, realm: string = DEFAULT_REALM) {
    super('invalid_signature', 'the request signature is invalid', `Signature realm="${realm}"`, reason);
  }
}

/** Configuration that cannot be used safely is refused at construction, before any request. */
export class IdentityConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityConfigError';
  }
}
