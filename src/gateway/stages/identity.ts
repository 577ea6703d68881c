// Stage 1 — identity: exactly one credential per request, verified by the identity plane. No anonymous access.
import { Unauthenticated } from '../../core/errors.js';
import type { Principal } from '../../core/types.js';
import type { RequestContext } from '../context.js';
import type { CredentialVerifiers } from '../../identity/verifiers.js';
import { CHALLENGE, dpopHeader, parseAuthorization, type Presented } from '../../http/credentials.js';

export { dpopHeader, parseAuthorization, type Presented } from '../../http/credentials.js';

/** The identity plane's verifiers, as the gateway sees them (implemented in src/identity). */
export type { CredentialVerifiers } from '../../identity/verifiers.js';

function jwtIssuer(token: string): string | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { iss?: unknown };
    return typeof payload.iss === 'string' ? payload.iss : null;
  } catch {
    return null;
  }
}

/** Verifies one bearer token (API key, Warden JIT token or OIDC JWT) with the verifier its form calls for. */
/**
 * `presented`: how the token came (its scheme and DPoP proof), checked against the token's sender binding;
 * 'exchange' at the token endpoint, where the exchange itself checks the binding against the request's
 * proof. Without either, a sender-constrained token is refused: it is never accepted as a plain bearer.
 */
export function createBearerVerifier(v: CredentialVerifiers): (token: string, presented?: Presented | 'exchange') => Promise<Principal> {
  const verify = async (token: string): Promise<Principal> => {
    if (token.startsWith('wdn_')) return v.apiKey(token);
    const iss = jwtIssuer(token);
    if (iss !== null && v.jitToken && iss === v.jitToken.issuer) return v.jitToken.verify(token);
    if (iss !== null && v.oidc) return v.oidc(token);
    throw new Unauthenticated('invalid_token', 'the bearer token is invalid', `${CHALLENGE}, error="invalid_token"`, iss === null ? 'token_not_a_jwt' : 'token_issuer_unknown');
  };
  return async (token, presented) => {
    const p = await verify(token);
    if (presented === 'exchange') return p;
    if (presented && v.senderBinding) {
      await v.senderBinding(p, token, presented);
      return p;
    }
    if (p.authn.boundKey !== undefined || presented?.scheme === 'dpop') {
      throw new Unauthenticated('invalid_token', 'a sender-constrained (DPoP) token cannot be used here', `${CHALLENGE}, error="invalid_token"`, 'dpop_not_supported_here');
    }
    return p;
  };
}

/**
 * Authenticates from the headers, before the body is read, so an unauthenticated client cannot make the
 * gateway buffer a body. The one exception is an RFC 9421 signature, which covers the body's digest:
 * `readBody` is called for it first.
 */
export function createIdentityStage(v: CredentialVerifiers, targetUriOf: (ctx: RequestContext) => string, readBody: (ctx: RequestContext) => Promise<void>) {
  const bearer = createBearerVerifier(v);
  return async function identity(ctx: RequestContext): Promise<void> {
    const h = ctx.req.headers;
    const auth = h.authorization;
    const signed = h['signature-input'] !== undefined || h.signature !== undefined;
    const socket = ctx.socket;
    // A presented client certificate that failed verification is never ignored (mtls: optional).
    if (socket.authorized === false && typeof socket.getPeerCertificate === 'function') {
      const peer = socket.getPeerCertificate();
      if (peer && Object.keys(peer).length > 0) {
        throw new Unauthenticated('client_certificate_invalid', 'the client certificate was not issued by a trusted authority', CHALLENGE, `tls_${socket.authorizationError ?? 'unauthorized'}`.toLowerCase());
      }
    }
    // Node keeps the first of repeated Authorization headers; another server may keep the last.
    if ((ctx.req.headersDistinct.authorization?.length ?? 0) > 1) {
      throw new Unauthenticated('ambiguous_credentials', 'send exactly one Authorization header', CHALLENGE, 'authorization_repeated');
    }
    if (auth !== undefined && signed) {
      throw new Unauthenticated('ambiguous_credentials', 'present exactly one credential (a bearer token or an HTTP message signature)', CHALLENGE, 'authorization_and_signature');
    }
    if (auth !== undefined) {
      const { scheme, token } = parseAuthorization(auth, CHALLENGE);
      ctx.principal = await bearer(token, { scheme, proof: dpopHeader(h), method: ctx.req.method ?? 'GET', url: targetUriOf(ctx) });
      return;
    }
    if (signed) {
      if (!v.httpSignature) throw new Unauthenticated('signatures_not_enabled', 'HTTP message signatures are not enabled on this listener', CHALLENGE);
      await readBody(ctx);
      ctx.principal = await v.httpSignature({ method: ctx.req.method ?? 'GET', targetUri: targetUriOf(ctx), headers: ctx.req.headersDistinct, body: ctx.rawBody });
      return;
    }
    if (v.mtls && socket.authorized === true) {
      ctx.principal = await v.mtls(socket);
      return;
    }
    throw new Unauthenticated('missing_credentials', 'authentication is required', CHALLENGE);
  };
}
