// Passkeys (WebAuthn) for step-up: the browser side of src/console/passkeys.ts, with @simplewebauthn/browser.
import { startAuthentication, startRegistration } from '@simplewebauthn/browser';
import { call } from './api.js';

export async function registerPasskey(): Promise<void> {
  const optionsJSON = await call('POST', '/console/auth/passkey/register/options', {});
  const response = await startRegistration({ optionsJSON });
  await call('POST', '/console/auth/passkey/register/verify', response);
}

export async function passkeyStepUp(): Promise<string> {
  const optionsJSON = await call('POST', '/console/auth/passkey/stepup/options', {});
  const response = await startAuthentication({ optionsJSON });
  return (await call<{ mfa_at: string }>('POST', '/console/auth/passkey/stepup/verify', response)).mfa_at;
}
