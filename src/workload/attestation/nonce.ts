import { AttestationConfigurationInvalid } from './errors.js';

/** A challenge nonce must be unpredictable enough that evidence cannot be precomputed for it. */
export const MIN_NONCE_BYTES = 16;

export function assertUsableNonce(nonce: Uint8Array, what: string): void {
  if (!(nonce instanceof Uint8Array) || nonce.length < MIN_NONCE_BYTES)
    throw new AttestationConfigurationInvalid(`${what}: the challenge nonce must be at least ${MIN_NONCE_BYTES} random bytes`);
}
