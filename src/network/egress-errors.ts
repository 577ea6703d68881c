// Typed refusals of the egress guard. A refused destination is a 403 (the tool call is not allowed to
// go there); a backend that misbehaves (too large, too slow, broken) is a 502/504.
import { Forbidden, UpstreamError } from '../core/errors.js';

/** The URL's scheme, host or port is not among the tool's declared egress destinations. */
export class EgressDestinationNotDeclared extends Forbidden {
  constructor(readonly destination: string) {
    super('egress_destination_not_declared', `the tool may not reach ${destination}: it is not a declared egress destination`);
  }
}

/** A declared hostname resolved to a private, loopback, link-local or metadata address (SSRF). */
export class EgressAddressForbidden extends Forbidden {
  constructor(readonly host: string, readonly address: string) {
    super('egress_address_forbidden', `${host} resolves to a non-public address; declare the address itself to allow it`);
  }
}

/** A redirect pointed somewhere the tool may not go, or there were too many. */
export class EgressRedirectRefused extends Forbidden {
  constructor(message: string) {
    super('egress_redirect_refused', message);
  }
}

/** The URL is not something the guard will send a request to (scheme, credentials in the URL, syntax). */
export class EgressUrlInvalid extends Forbidden {
  constructor(message: string) {
    super('egress_url_invalid', message);
  }
}

export class EgressResponseTooLarge extends UpstreamError {
  constructor(limit: number) {
    super(502, 'egress_response_too_large', `the tool backend's response exceeds the limit of ${limit} bytes`);
  }
}

export class EgressTimeout extends UpstreamError {
  constructor(ms: number) {
    super(504, 'egress_timeout', `the tool backend did not answer within ${ms} ms`);
  }
}

export class EgressConnectFailed extends UpstreamError {
  constructor(destination: string) {
    super(502, 'egress_connect_failed', `the tool backend at ${destination} could not be reached`);
  }
}
