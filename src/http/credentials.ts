// The edge's credential headers: the Authorization schemes Warden accepts and the one DPoP header.
import { Unauthenticated } from '../core/errors.js';

/** How a token was presented: its Authorization scheme, the DPoP header, and the request it came with. */
export interface Presented {
  scheme: 'bearer' | 'dpop';
  proof: string | undefined;
  method: string;
  url: string;
}

/** The challenge every Warden listener sends with a 401 (RFC 6750 §3). */
export const CHALLENGE = 'Bearer realm="warden"';

/** Parses `Authorization: Bearer <token>` or `Authorization: DPoP <token>` (RFC 9449 §7.1). */
export function parseAuthorization(auth: string, challenge: string): { scheme: 'bearer' | 'dpop'; token: string } {
  const m = /^(Bearer|DPoP) ([^\s]+)$/i.exec(auth);
  if (!m) throw new Unauthenticated('invalid_authorization', 'the Authorization header must be "Bearer <token>" or "DPoP <token>"', `${challenge}, error="invalid_request"`);
  return { scheme: m[1]!.toLowerCase() === 'dpop' ? 'dpop' : 'bearer', token: m[2]! };
}

/** The one `DPoP` header of a request, or none; several are refused (RFC 9449 §4.3 step 1). */
export function dpopHeader(headers: Record<string, string | string[] | undefined>): string | undefined {
  const v = headers.dpop;
  if (Array.isArray(v)) throw new Unauthenticated('invalid_dpop_proof', 'send exactly one DPoP header', 'DPoP error="invalid_dpop_proof"');
  return v;
}
