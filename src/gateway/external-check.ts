// A request that a mesh (Envoy ext_authz) routes and relays itself, handed to the gateway to decide. The
// gateway runs it through its own stages (Gateway.check); this file only shapes it as the request those
// stages read, so identity sees the forwarded headers and the mesh-verified client certificate as it would
// see them on its own listener.
import type { IncomingMessage } from 'node:http';
import type { WardenError } from '../core/errors.js';
import type { Principal } from '../core/types.js';

export interface ExternalCheck {
  via: 'ext_authz_grpc' | 'ext_authz_http';
  method: string;
  /** The request target as the client sent it (path and query). */
  path: string;
  /** Lower-case names; a header sent several times has several values. */
  headers: Record<string, string[]>;
  /** The body Envoy buffered (with_request_body), and whether it is all of it; null: none was sent. */
  body: { bytes: Buffer; complete: boolean } | null;
  /** The downstream client's address as the mesh saw it. */
  sourceIp: string;
  /**
   * The client certificate the mesh verified at its TLS handshake, already checked against Warden's own
   * client trust bundle (`der`), or why that check failed (`invalid`); absent: the client sent none.
   */
  peer?: { der: Uint8Array } | { invalid: string };
}

export type CheckOutcome =
  | { allow: true; requestId: string; principal: Principal; receipt?: string }
  | { allow: false; requestId: string; error: WardenError };

/** The IncomingMessage-shaped view of a check that the identity and audit code read (headers, method, url, socket). */
export function externalRequest(x: ExternalCheck): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(x.headers)) headers[k] = v.join(', ');
  const peer = x.peer;
  const socket = {
    remoteAddress: x.sourceIp,
    // As a TLS socket: authorized with a verified certificate; not authorized, with one, when it did not verify.
    authorized: peer ? 'der' in peer : undefined,
    authorizationError: peer && 'invalid' in peer ? peer.invalid : undefined,
    getPeerCertificate: () => (!peer ? {} : 'der' in peer ? { raw: Buffer.from(peer.der) } : { forwarded: true }),
  };
  return { method: x.method, url: x.path, headers, headersDistinct: x.headers, socket } as unknown as IncomingMessage;
}
