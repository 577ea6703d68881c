// Typed refusals of the code sandbox. A cap the code ran into is the caller's code's doing (422, with the cap
// named); a sandbox that cannot run at all fails closed (503); a full sandbox asks the caller to come back (429).
import { RateLimited, WardenError } from '../../core/errors.js';

export type SandboxLimitKind = 'time' | 'memory' | 'output';

export class SandboxLimitExceeded extends WardenError {
  readonly limit: SandboxLimitKind;
  constructor(limit: SandboxLimitKind, message: string) {
    super(422, 'invalid_request_error', `sandbox_${limit}_limit`, `${message}; the run was stopped`);
    this.limit = limit;
  }
}

export class SandboxUnavailable extends WardenError {
  constructor(message: string) {
    super(503, 'unavailable_error', 'sandbox_unavailable', message);
  }
}

export class SandboxBusy extends RateLimited {
  constructor(max: number) {
    super('sandbox_busy', `the code sandbox is running its maximum of ${max} calls; retry shortly`, 1);
  }
}
