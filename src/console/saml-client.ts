// The console as a SAML 2.0 service provider (SP-initiated Web Browser SSO: AuthnRequest by HTTP-Redirect,
// Response by HTTP-POST to the ACS), on @node-saml/node-saml. What must hold before a person is named:
//  - the assertion is signed by the configured IdP certificate (unsigned or wrongly signed: refused; a signed
//    Response around an unsigned assertion is not enough: SAML core §5, signature wrapping);
//  - the assertion's Issuer is the configured IdP (checked here: the library checks it on logout only), Audience is this SP, NotBefore/NotOnOrAfter hold (30 s skew at most);
//  - InResponseTo is an AuthnRequest this Warden sent to this browser (bound by a `__Host-` cookie holding
//    RelayState), redeemed once: an unsolicited (IdP-initiated), replayed or other browser's response is refused.
// The RelayState and the request ids live in the console's store (pending-sign-ins.ts): any replica can finish.
// Single logout (SAML profiles §4.4, HTTP-Redirect binding) when `logoutUrl` is set: signing out sends the IdP a
// LogoutRequest, whose LogoutResponse must answer it (once); an IdP's LogoutRequest ends the person's sessions.
// Either message must carry a valid query signature by the IdP's key: node-saml accepts an unsigned one, Warden not.
import { X509Certificate, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { SAML, ValidateInResponseTo, type CacheItem, type CacheProvider, type Profile } from '@node-saml/node-saml';
import { StartupRefused, Unauthenticated } from '../core/errors.js';
import { PENDING_MS, type PendingSignIns } from './pending-sign-ins.js';
import type { SamlLogoutName } from './sessions.js';

export interface SamlClientConfig {
  /** The IdP's single sign-on URL (HTTP-Redirect binding). */
  entryPoint: string;
  /** The IdP's entity ID: the Issuer every response must carry. */
  idpIssuer: string;
  /** PEM certificate(s) the IdP signs assertions with (one file, several for a rollover). */
  idpCertPems: string[];
  /** This Warden's SP entity ID: the AuthnRequest's Issuer and the Audience every assertion must name. */
  spEntityId: string;
  /** The IdP's single logout URL (HTTP-Redirect); null: no single logout. */
  logoutUrl: string | null;
  /** The attribute naming the Warden principal; absent: the NameID. */
  principalAttribute: string | null;
  /** AuthnContextClassRefs that mean the person proved a second factor (the AuthnInstant is then their MFA time). */
  mfaAuthnContexts: string[];
  clockSkewMs: number;
}

/** What a verified assertion says about the person. */
export interface SamlSignIn {
  idpIssuer: string;
  subject: string;
  /** Epoch ms of the IdP's AuthnInstant when the AuthnContextClassRef is one of mfaAuthnContexts. */
  mfaAt: number | null;
  assertionId: string;
  /** What a LogoutRequest for this sign-in names. */
  logout: SamlLogoutName;
}

/** A logout message the IdP sent to the SLO endpoint, verified. */
export type SamlLogoutMessage =
  /** The answer to our LogoutRequest. */
  | { kind: 'response' }
  /** The IdP ends a person's sessions; `responseUrl` sends the browser back with our LogoutResponse. */
  | { kind: 'request'; idpIssuer: string; nameId: string; sessionIndex: string | null; responseUrl: string };

interface PendingRequest { requestId: string; acsUrl: string }

const CHALLENGE = 'Cookie realm="warden-console"';
/** RelayState → the AuthnRequest it goes with. */
const KIND = 'saml';
/** AuthnRequest ids node-saml accepts an answer to (its cache provider). */
const REQUEST_KIND = 'saml_request';
/** LogoutRequest ids awaiting the IdP's LogoutResponse. */
const LOGOUT_KIND = 'saml_logout';
/** The IdP's LogoutRequest ids already honoured (each once, while fresh). */
const IDP_LOGOUT_KIND = 'saml_idp_logout';

/** Reads and checks the IdP's certificate file at start-up (a missing or unparsable one refuses to start). */
export function loadSamlIdpCerts(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new StartupRefused('config', `console.saml.idpCertFile ${file}: ${(e as Error).message}`);
  }
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new StartupRefused('config', `console.saml.idpCertFile ${file}: no PEM certificate in it`);
  for (const p of pems) {
    try {
      new X509Certificate(p);
    } catch (e) {
      throw new StartupRefused('config', `console.saml.idpCertFile ${file}: not a certificate (${(e as Error).message})`);
    }
  }
  return pems;
}

/**
 * The library's request-id cache: exactly the AuthnRequests this Warden (any replica) sent, each redeemable
 * once (node-saml removes an id after its response is accepted) and for PENDING_MS.
 */
class RequestIds implements CacheProvider {
  constructor(private readonly pending: PendingSignIns) {}
  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    const createdAt = this.pending.now();
    return (await this.pending.add(REQUEST_KIND, key, value, 'saml_sign_ins_busy')) ? { value, createdAt } : null;
  }
  getAsync(key: string): Promise<string | null> {
    return this.pending.get<string>(REQUEST_KIND, key);
  }
  removeAsync(key: string | null): Promise<string | null> {
    return key === null ? Promise.resolve(null) : this.pending.take<string>(REQUEST_KIND, key);
  }
}

/** The library's error, as a coded refusal (the message says which check failed). */
function refusal(e: unknown): Unauthenticated {
  const m = e instanceof Error ? e.message : String(e);
  const code = /signature|No response found|Cannot obtain assertion/i.test(m) ? 'saml_signature_invalid'
    : /expired|not yet valid|No valid subject confirmation/i.test(m) ? 'saml_assertion_expired'
    : /audience/i.test(m) ? 'saml_audience_mismatch'
    : /InResponseTo/i.test(m) ? 'saml_unsolicited_or_replayed'
    : /issuer/i.test(m) ? 'saml_issuer_mismatch'
    : /provider returned|status code/i.test(m) ? 'saml_idp_refused'
    : 'saml_invalid';
  return new Unauthenticated(code, `the SAML response was refused: ${m}`, CHALLENGE);
}

export class SamlClient {
  private readonly requestIds: RequestIds;
  /** One library instance per ACS URL (the console's origins: a handful), sharing one request-id cache. */
  private readonly sps = new Map<string, SAML>();
  /** Set only while getAuthorizeUrlAsync runs synchronously up to its first await (see start()). */
  private nextRequestId: string | null = null;

  constructor(private readonly c: SamlClientConfig, private readonly pending: PendingSignIns) {
    this.requestIds = new RequestIds(pending);
  }

  private sp(acsUrl: string): SAML {
    let sp = this.sps.get(acsUrl);
    if (!sp) {
      sp = new SAML({
        entryPoint: this.c.entryPoint,
        issuer: this.c.spEntityId,
        audience: this.c.spEntityId,
        callbackUrl: acsUrl,
        idpCert: this.c.idpCertPems,
        idpIssuer: this.c.idpIssuer,
        ...(this.c.logoutUrl ? { logoutUrl: this.c.logoutUrl } : {}),
        wantAssertionsSigned: true,
        // Many IdPs sign only the assertion; the assertion's own signature is what is required (above).
        wantAuthnResponseSigned: false,
        validateInResponseTo: ValidateInResponseTo.always,
        requestIdExpirationPeriodMs: PENDING_MS,
        cacheProvider: this.requestIds,
        acceptedClockSkewMs: this.c.clockSkewMs,
        signatureAlgorithm: 'sha256',
        disableRequestedAuthnContext: true,
        generateUniqueId: () => {
          if (this.nextRequestId === null) throw new Error('a SAML message id was asked for outside withId()');
          return this.nextRequestId;
        },
      });
      this.sps.set(acsUrl, sp);
    }
    return sp;
  }

  /** The IdP URL to send the browser to, and the state (RelayState) to bind to it in a cookie. */
  async start(acsUrl: string): Promise<{ url: string; state: string }> {
    const state = randomBytes(24).toString('base64url');
    // An NCName (xs:ID): a letter first.
    const requestId = '_' + randomBytes(20).toString('hex');
    const url = await this.withId(requestId, () => this.sp(acsUrl).getAuthorizeUrlAsync(state, undefined, {}));
    if (!(await this.pending.add(KIND, state, { requestId, acsUrl } satisfies PendingRequest, 'saml_sign_ins_busy'))) throw new Error('SAML RelayState collision');
    return { url, state };
  }

  /** node-saml takes a message id from generateUniqueId before its first await, so `id` is this call's only. */
  private withId<T>(id: string, f: () => Promise<T>): Promise<T> {
    this.nextRequestId = id;
    try {
      return f();
    } finally {
      this.nextRequestId = null;
    }
  }

  get singleLogout(): boolean {
    return this.c.logoutUrl !== null;
  }

  /** SP-initiated logout: the IdP URL (HTTP-Redirect) carrying a LogoutRequest for this sign-in. */
  async startLogout(name: SamlLogoutName, acsUrl: string): Promise<string> {
    const id = '_' + randomBytes(20).toString('hex');
    const profile = { issuer: this.c.idpIssuer, nameID: name.nameId, nameIDFormat: name.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified', ...(name.sessionIndex ? { sessionIndex: name.sessionIndex } : {}) } as Profile;
    const url = await this.withId(id, () => this.sp(acsUrl).getLogoutUrlAsync(profile, randomBytes(16).toString('base64url'), {}));
    if (!(await this.pending.add(LOGOUT_KIND, id, {}, 'saml_sign_ins_busy'))) throw new Error('SAML LogoutRequest id collision');
    return url;
  }

  /**
   * The SLO endpoint (HTTP-Redirect binding): a LogoutResponse answering one of our LogoutRequests (once), or
   * the IdP's LogoutRequest. `rawQuery` is the query string as received: the signature covers its bytes.
   */
  async logoutMessage(query: URLSearchParams, rawQuery: string, acsUrl: string): Promise<SamlLogoutMessage> {
    const isResponse = query.has('SAMLResponse');
    if (!isResponse && !query.has('SAMLRequest')) throw new Unauthenticated('saml_invalid', 'the SLO endpoint takes a SAMLRequest or a SAMLResponse', CHALLENGE);
    if (!query.get('Signature') || !query.get('SigAlg')) throw new Unauthenticated('saml_signature_invalid', 'a logout message must carry the IdP\'s query signature (Signature and SigAlg)', CHALLENGE);
    const sp = this.sp(acsUrl);
    let result: { profile: Profile | null };
    try {
      result = await sp.validateRedirectAsync(Object.fromEntries(query), rawQuery);
    } catch (e) {
      throw refusal(e);
    }
    if (isResponse) {
      // node-saml accepts a LogoutResponse without InResponseTo: it must answer a LogoutRequest of ours, once.
      const xml = inflateRawSync(Buffer.from(query.get('SAMLResponse')!, 'base64')).toString('utf8');
      const inResponseTo = /<(?:[\w-]+:)?LogoutResponse\b[^>]*?\sInResponseTo="([^"]+)"/.exec(xml)?.[1];
      if (!inResponseTo || (await this.pending.take(LOGOUT_KIND, inResponseTo)) === null) throw new Unauthenticated('saml_unsolicited_or_replayed', 'the LogoutResponse answers no logout of ours (or one already answered)', CHALLENGE);
      await this.requestIds.removeAsync(inResponseTo);
      return { kind: 'response' };
    }
    const p = result.profile;
    if (!p || typeof p.nameID !== 'string' || p.nameID.length === 0) throw new Unauthenticated('saml_subject_missing', 'the LogoutRequest names nobody', CHALLENGE);
    // A signed LogoutRequest is honoured once, and only while fresh: replayed later it would end new sessions.
    const xml = inflateRawSync(Buffer.from(query.get('SAMLRequest')!, 'base64')).toString('utf8');
    const issued = Date.parse(/<(?:[\w-]+:)?LogoutRequest\b[^>]*?\sIssueInstant="([^"]+)"/.exec(xml)?.[1] ?? '');
    const now = this.pending.now();
    if (!Number.isFinite(issued) || issued > now + this.c.clockSkewMs || now - issued > PENDING_MS) throw new Unauthenticated('saml_logout_stale', 'the LogoutRequest is not fresh (IssueInstant more than ten minutes ago, or in the future)', CHALLENGE);
    if (typeof p.ID !== 'string' || !(await this.pending.add(IDP_LOGOUT_KIND, p.ID, {}, 'saml_sign_ins_busy'))) throw new Unauthenticated('saml_unsolicited_or_replayed', 'this LogoutRequest was already honoured', CHALLENGE);
    const sessionIndex = typeof p.sessionIndex === 'string' && p.sessionIndex.length > 0 ? p.sessionIndex : null;
    const responseUrl = await this.withId('_' + randomBytes(20).toString('hex'), () => sp.getLogoutResponseUrlAsync(p, query.get('RelayState') ?? '', {}, true));
    return { kind: 'request', idpIssuer: this.c.idpIssuer, nameId: p.nameID, sessionIndex, responseUrl };
  }

  /** The ACS: RelayState must be this browser's, the response must answer its request, and the assertion must verify. */
  async finish(form: URLSearchParams, browserState: string | null): Promise<SamlSignIn> {
    const state = form.get('RelayState');
    if (!state || !browserState || state !== browserState) throw new Unauthenticated('saml_state_mismatch', 'the sign-in did not start in this browser (RelayState mismatch): start again', CHALLENGE);
    const p = await this.pending.take<PendingRequest>(KIND, state);
    if (!p) throw new Unauthenticated('saml_state_unknown', 'the sign-in expired or was already used: start again', CHALLENGE);
    const response = form.get('SAMLResponse');
    if (!response) {
      await this.requestIds.removeAsync(p.requestId);
      throw new Unauthenticated('saml_invalid', 'the IdP posted no SAMLResponse', CHALLENGE);
    }
    let profile: Profile | null;
    try {
      ({ profile } = await this.sp(p.acsUrl).validatePostResponseAsync({ SAMLResponse: response }));
    } catch (e) {
      throw refusal(e);
    } finally {
      // Whatever came back, this request is answered: it is not redeemable again.
      await this.requestIds.removeAsync(p.requestId);
    }
    if (!profile) throw new Unauthenticated('saml_invalid', 'the SAML response carried no assertion', CHALLENGE);
    // node-saml checks `idpIssuer` on logout messages only: the signed assertion's Issuer is checked here.
    if (profile.issuer !== this.c.idpIssuer) throw new Unauthenticated('saml_issuer_mismatch', `the assertion was issued by ${JSON.stringify(profile.issuer)}, not by the configured IdP`, CHALLENGE);
    // The library accepts any request id of ours; this browser's response must answer this browser's request.
    if (profile.inResponseTo !== p.requestId) throw new Unauthenticated('saml_unsolicited_or_replayed', 'the SAML response answers another sign-in', CHALLENGE);
    const subject = this.subjectOf(profile);
    const logout: SamlLogoutName = { nameId: profile.nameID, nameIdFormat: profile.nameIDFormat ?? null, sessionIndex: typeof profile.sessionIndex === 'string' ? profile.sessionIndex : null };
    return { idpIssuer: profile.issuer, subject, mfaAt: this.mfaAt(profile), assertionId: typeof profile.ID === 'string' ? profile.ID : 'saml', logout };
  }

  private subjectOf(profile: Profile): string {
    const attr = this.c.principalAttribute;
    const v = attr === null ? profile.nameID : profile[attr];
    const value = Array.isArray(v) && v.length === 1 ? (v[0] as unknown) : v;
    if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
      throw new Unauthenticated('saml_subject_missing', attr === null ? 'the assertion has no NameID' : `the assertion has no single value of attribute ${attr}`, CHALLENGE);
    }
    return value;
  }

  private mfaAt(profile: Profile): number | null {
    const assertion = profile.getAssertion?.() as { Assertion?: { AuthnStatement?: { $?: { AuthnInstant?: string }; AuthnContext?: { AuthnContextClassRef?: ({ _?: string } | string)[] }[] }[] } } | undefined;
    const st = assertion?.Assertion?.AuthnStatement?.[0];
    const ref = st?.AuthnContext?.[0]?.AuthnContextClassRef?.[0];
    const cls = typeof ref === 'string' ? ref : ref?._;
    const at = st?.$?.AuthnInstant ? Date.parse(st.$.AuthnInstant) : NaN;
    return cls && this.c.mfaAuthnContexts.includes(cls) && Number.isFinite(at) ? at : null;
  }
}
