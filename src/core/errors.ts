// One error family. Every error a client can see maps to the JSON body
// { "error": { "type", "code", "message", "request_id" } } with the status carried here.

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'upstream_error'
  | 'unavailable_error'
  | 'timeout_error'
  | 'conflict_error'
  | 'server_error';

export class WardenError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly code: string;
  /** Extra response headers (WWW-Authenticate, Retry-After). */
  readonly headers: Record<string, string>;
  /** The pipeline stage that raised it, for the audit entry. */
  stage?: string;
  /**
   * The precise cause (`nonce_replayed`, `jwt_claim_aud`, `key_revoked`, …) for the operator: the log line and
   * the ledger entry carry it; the response body never does (it would tell an attacker which part to fix).
   */
  reason?: string;

  constructor(status: number, type: ErrorType, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.type = type;
    this.code = code;
    this.headers = headers;
  }

  toBody(requestId: string): { error: { type: ErrorType; code: string; message: string; request_id: string } } {
    return { error: { type: this.type, code: this.code, message: this.message, request_id: requestId } };
  }
}

export class BadRequest extends WardenError {
  /** JSON path of the offending field, when there is one. */
  readonly field?: string;
  constructor(code: string, message: string, field?: string) {
    super(400, 'invalid_request_error', code, message);
    if (field !== undefined) this.field = field;
  }

  /** OpenAI's error body names the offending field in `param`. */
  override toBody(requestId: string): ReturnType<WardenError['toBody']> & { error: { param?: string } } {
    const b = super.toBody(requestId);
    return this.field !== undefined ? { error: { ...b.error, param: this.field } } : b;
  }
}

/** 401. The message never says which part of the credential was wrong beyond what the standard allows. */
export class Unauthenticated extends WardenError {
  constructor(code: string, message: string, challenge: string, reason?: string) {
    super(401, 'authentication_error', code, message, { 'www-authenticate': challenge });
    if (reason !== undefined) this.reason = reason;
  }
}

export class Forbidden extends WardenError {
  constructor(code: string, message: string) {
    super(403, 'permission_error', code, message);
  }
}

export class NotFound extends WardenError {
  constructor(code: string, message: string) {
    super(404, 'not_found_error', code, message);
  }
}

export class Conflict extends WardenError {
  constructor(code: string, message: string) {
    super(409, 'conflict_error', code, message);
  }
}

export class PayloadTooLarge extends WardenError {
  constructor(limit: number) {
    super(413, 'request_too_large', 'body_too_large', `request body exceeds the limit of ${limit} bytes`);
  }
}

export class RateLimited extends WardenError {
  constructor(code: string, message: string, retryAfterSeconds: number) {
    super(429, 'rate_limit_error', code, message, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
}

/** 429: a token or cost budget cannot hold this request's reservation; names the budget and its reset. */
export class BudgetExhausted extends WardenError {
  constructor(
    message: string,
    readonly budget: { scope: string; id: string; window: string; unit: 'tokens' | 'cost'; resetsAt: number | null; retryAfterSeconds: number | null },
  ) {
    // A lifetime budget never resets: no Retry-After (RFC 9110 §10.2.3 has no "never").
    super(429, 'rate_limit_error', 'budget_exhausted', message, budget.retryAfterSeconds === null ? {} : { 'retry-after': String(Math.max(1, Math.ceil(budget.retryAfterSeconds))) });
  }

  override toBody(requestId: string): ReturnType<WardenError['toBody']> & { error: { budget: Record<string, unknown> } } {
    const b = super.toBody(requestId);
    const x = this.budget;
    return { error: { ...b.error, budget: { scope: x.scope, id: x.id, window: x.window, unit: x.unit, resets_at: x.resetsAt === null ? null : new Date(x.resetsAt).toISOString() } } };
  }
}

export class UpstreamError extends WardenError {
  constructor(status: 502 | 503 | 504, code: string, message: string) {
    super(status, status === 504 ? 'timeout_error' : status === 503 ? 'unavailable_error' : 'upstream_error', code, message);
  }
}

/** A dependency Warden needs to decide (PDP, ledger, key store, attestation) cannot answer: refuse. */
export class FailClosed extends WardenError {
  constructor(code: string, message: string) {
    super(503, 'unavailable_error', code, message);
  }
}

export function isWardenError(e: unknown): e is WardenError {
  return e instanceof WardenError;
}

/**
 * Warden will not start. Never seen by a client: `warden up` prints the message on one line and exits 2 for a
 * mistake in the configuration (`config`: a key, a file it names, a principal it names) and 1 for anything in
 * the environment (`environment`: a busy port, a ledger that does not verify, a database that cannot be opened).
 */
export class StartupRefused extends Error {
  readonly kind: 'config' | 'environment';
  constructor(kind: 'config' | 'environment', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupRefused';
    this.kind = kind;
  }
}
