// The PKCS#11 steps every token-held key needs (load and initialise the module, find the token by label,
// open a session and log in, find one object), shared by the model signer (workload) and the ledger key.
// Each caller turns a failure into its own error and wording through `fail`.
import pkcs11js from 'pkcs11js';

export type Pkcs11Handle = Buffer;

export type Pkcs11Failure =
  | { step: 'load' | 'initialize' | 'login'; detail: string }
  /** The PIN itself was refused (CKR_PIN_INCORRECT, CKR_PIN_LEN_RANGE). */
  | { step: 'pin'; detail: string }
  | { step: 'no_token' }
  | { step: 'no_object' | 'ambiguous_object' };

export type Pkcs11Fail = (f: Pkcs11Failure) => Error;

const code = (e: unknown) => (e as { code?: number }).code;
const detail = (e: unknown) => (e as Error).message;

export interface TokenSession {
  p: pkcs11js.PKCS11;
  session: Pkcs11Handle;
  /** Logs out (if no other session of this process did) and closes the session. */
  close(): void;
}

/** Loads `module` (initialised once per process), opens a session on the token labelled `token` and logs in. */
export function openTokenSession(o: { module: string; token: string; pin: string; readWrite?: boolean }, fail: Pkcs11Fail): TokenSession {
  const p = new pkcs11js.PKCS11();
  try {
    p.load(o.module);
  } catch (e) {
    throw fail({ step: 'load', detail: detail(e) });
  }
  try {
    p.C_Initialize();
  } catch (e) {
    // Another key in this process (a model signer, the ledger key) may have initialised the module already.
    if (code(e) !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw fail({ step: 'initialize', detail: detail(e) });
  }
  const slot = p.C_GetSlotList(true).find((s) => p.C_GetTokenInfo(s).label.trim() === o.token);
  if (!slot) throw fail({ step: 'no_token' });
  const session = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | (o.readWrite ? pkcs11js.CKF_RW_SESSION : 0));
  try {
    p.C_Login(session, pkcs11js.CKU_USER, o.pin);
  } catch (e) {
    if (code(e) !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
      p.C_CloseSession(session);
      const pin = code(e) === pkcs11js.CKR_PIN_INCORRECT || code(e) === pkcs11js.CKR_PIN_LEN_RANGE;
      throw fail({ step: pin ? 'pin' : 'login', detail: detail(e) });
    }
  }
  return {
    p,
    session,
    close: () => {
      try {
        p.C_Logout(session);
      } catch {
        // another session of this process logged out already
      }
      p.C_CloseSession(session);
    },
  };
}

/** The one object matching `template`; none or several is a failure. */
export function findTokenObject(t: TokenSession, template: pkcs11js.Template, fail: Pkcs11Fail): Pkcs11Handle {
  t.p.C_FindObjectsInit(t.session, template);
  const found = t.p.C_FindObjects(t.session, 2);
  t.p.C_FindObjectsFinal(t.session);
  if (found.length === 0) throw fail({ step: 'no_object' });
  if (found.length > 1) throw fail({ step: 'ambiguous_object' });
  return found[0]!;
}
