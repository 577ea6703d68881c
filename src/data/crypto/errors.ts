// Errors of the envelope-encryption module. All fail closed: a key that cannot be reached or a blob that does
// not authenticate is a refusal, never a fallback to another key or to the clear.
import { FailClosed, WardenError } from '../../core/errors.js';

/** A key file is readable by group or others, has the wrong size, or a path meant for a new key is taken. */
export class KeyFileInsecure extends FailClosed {
  constructor(message: string) {
    super('key_file_insecure', message);
  }
}

/**
 * The KEK a data key is wrapped under is not available: withdrawn by its owner (BYOK), removed from the
 * token, not configured, or its token refused. The data it protects is unreadable until it returns (503).
 */
export class KekUnavailable extends WardenError {
  constructor(message: string) {
    super(503, 'unavailable_error', 'kek_unavailable', message);
  }
}

/** A wrapped data key or a sealed blob does not authenticate under its context: altered, moved, or foreign. */
export class EnvelopeTampered extends WardenError {
  constructor(message: string) {
    super(500, 'server_error', 'envelope_tampered', message);
  }
}

/** A record sealed by the pre-envelope formats (payload-kek.bin, model-kek.bin): run `warden data migrate`. */
export class LegacyEnvelope extends WardenError {
  constructor(what: string) {
    super(503, 'unavailable_error', 'envelope_needs_migration', `${what} is sealed in the old format; stop Warden and run \`warden data migrate --config FILE\``);
  }
}
