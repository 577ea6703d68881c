// A TEST SAML 2.0 identity provider (labelled as such) for the console's SAML sign-in tests. Real TLS under a
// test CA, a real RSA signing key and self-signed certificate made per run, assertions signed with xml-crypto
// (exclusive c14n, RSA-SHA256, enveloped signature on the Assertion). It has no password page: its SSO URL
// (HTTP-Redirect binding) reads the AuthnRequest and answers with an auto-posting form (HTTP-POST binding)
// that signs in whoever the test names in `signInAs`. `response()` builds a response directly, and can build
// the broken ones the tests need (unsigned, signed by another key, tampered, expired, for another audience).
// Single logout (HTTP-Redirect binding, query signatures RSA-SHA256): its SLO URL answers an SP's LogoutRequest
// with a signed LogoutResponse sent back to the SP's SLO endpoint; `logoutRequestUrl()` and
// `logoutResponseUrl()` build IdP messages (signed, unsigned or signed by another key) for the tests.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createSign, generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';
import { issueServerCert, makeTestCa } from './pki.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export const SAML_MFA = 'https://refeds.org/profile/mfa';
export const SAML_PASSWORD = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';

export interface SamlResponseOptions {
  inResponseTo: string;
  acsUrl: string;
  /** The NameID, and the `uid` attribute. */
  subject: string;
  audience?: string;
  issuer?: string;
  /** none: no signature at all; other: signed by a key the SP does not trust; tampered: the NameID changed after signing. */
  signing?: 'assertion' | 'none' | 'other' | 'tampered';
  /** Seconds from now the assertion stops being valid (negative: already expired). Default 300. */
  validForSec?: number;
  authnContext?: string;
}

export interface TestSamlIdp {
  entityId: string;
  ssoUrl: string;
  caPem: string;
  /** The IdP's signing certificate (what Warden's console.saml.idpCertFile holds). */
  signingCertPem: string;
  /** Who the next SSO request signs in (null: the IdP answers with a Responder status, no assertion). */
  signInAs: { subject: string; mfa?: boolean } | null;
  /** The AuthnRequests the SSO URL received (decoded XML) and their RelayState. */
  requests: { xml: string; id: string; acsUrl: string; relayState: string }[];
  /** The last response the SSO URL posted (base64), for replay tests. */
  lastResponse: string | null;
  response(o: SamlResponseOptions): string;
  /** The IdP's single logout URL (HTTP-Redirect). */
  sloUrl: string;
  /** The SessionIndex of each sign-in the IdP answered, by subject (latest last). */
  sessions: Map<string, string[]>;
  /** The LogoutRequests the SLO URL received (decoded XML), and where it sent each LogoutResponse. */
  logoutRequests: { xml: string; id: string; nameId: string; sessionIndex: string | null; relayState: string; answeredTo: string }[];
  /** An IdP-initiated LogoutRequest as a redirect to `spSloUrl`. */
  logoutRequestUrl(spSloUrl: string, o: { nameId: string; sessionIndex?: string; signing?: LogoutSigning; issuer?: string; issuedAt?: number }): string;
  /** A LogoutResponse as a redirect to `spSloUrl`. */
  logoutResponseUrl(spSloUrl: string, o: { inResponseTo: string | null; signing?: LogoutSigning }): string;
  close(): void;
}

/** ok: signed by the IdP's key; none: no query signature; other: signed by a key the SP does not trust; tampered: the message changed after signing. */
export type LogoutSigning = 'ok' | 'none' | 'other' | 'tampered';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

async function rsaSigner(name: string): Promise<{ keyPem: string; certPem: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
  const keys = {
    privateKey: await webcrypto.subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), alg, true, ['sign']),
    publicKey: await webcrypto.subtle.importKey('spki', publicKey.export({ type: 'spki', format: 'der' }), alg, true, ['verify']),
  };
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: alg,
  });
  return { keyPem, certPem: cert.toString('pem') + '\n' };
}

function sign(xml: string, signer: { keyPem: string; certPem: string }): string {
  const sig = new SignedXml({
    privateKey: signer.keyPem,
    publicCert: signer.certPem,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  });
  sig.addReference({
    xpath: "//*[local-name(.)='Assertion']",
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  sig.computeSignature(xml, { location: { reference: "//*[local-name(.)='Assertion']/*[local-name(.)='Issuer']", action: 'after' } });
  return sig.getSignedXml();
}

export async function startTestSamlIdp(spEntityId: string): Promise<TestSamlIdp> {
  const ca = await makeTestCa({ name: 'Warden Test SAML IdP CA' });
  const tls = await issueServerCert(ca, ['127.0.0.1', 'localhost']);
  const signer = await rsaSigner('Warden TEST SAML IdP');
  const stranger = await rsaSigner('Not the IdP');

  const idp: TestSamlIdp = {
    entityId: '',
    ssoUrl: '',
    caPem: ca.certPem,
    signingCertPem: signer.certPem,
    signInAs: null,
    requests: [],
    lastResponse: null,
    sloUrl: '',
    sessions: new Map(),
    logoutRequests: [],
    logoutRequestUrl(spSloUrl, o) {
      const xml = `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_l${randomBytes(16).toString('hex')}" Version="2.0" IssueInstant="${new Date(o.issuedAt ?? Date.now()).toISOString()}" Destination="${esc(spSloUrl)}">`
        + `<saml:Issuer>${esc(o.issuer ?? idp.entityId)}</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">${esc(o.nameId)}</saml:NameID>`
        + (o.sessionIndex ? `<samlp:SessionIndex>${esc(o.sessionIndex)}</samlp:SessionIndex>` : '') + '</samlp:LogoutRequest>';
      return spSloUrl + '?' + redirectQuery('SAMLRequest', xml, randomBytes(8).toString('hex'), o.signing ?? 'ok');
    },
    logoutResponseUrl(spSloUrl, o) {
      return spSloUrl + '?' + redirectQuery('SAMLResponse', logoutResponse(spSloUrl, o.inResponseTo), '', o.signing ?? 'ok');
    },
    response(o) {
      const now = Date.now();
      const iso = (ms: number) => new Date(ms).toISOString();
      const until = iso(now + (o.validForSec ?? 300) * 1000);
      const sessionIndex = `_s${randomBytes(8).toString('hex')}`;
      idp.sessions.set(o.subject, [...(idp.sessions.get(o.subject) ?? []), sessionIndex]);
      const issuer = esc(o.issuer ?? idp.entityId);
      const assertion = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a${randomBytes(16).toString('hex')}" Version="2.0" IssueInstant="${iso(now)}">`
        + `<saml:Issuer>${issuer}</saml:Issuer>`
        + `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">${esc(o.subject)}</saml:NameID>`
        + `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="${esc(o.inResponseTo)}" NotOnOrAfter="${until}" Recipient="${esc(o.acsUrl)}"/></saml:SubjectConfirmation></saml:Subject>`
        + `<saml:Conditions NotBefore="${iso(now - 60_000)}" NotOnOrAfter="${until}"><saml:AudienceRestriction><saml:Audience>${esc(o.audience ?? spEntityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>`
        + `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="${sessionIndex}"><saml:AuthnContext><saml:AuthnContextClassRef>${esc(o.authnContext ?? SAML_MFA)}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`
        + `<saml:AttributeStatement><saml:Attribute Name="uid"><saml:AttributeValue>${esc(o.subject)}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>`
        + '</saml:Assertion>';
      const xml = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r${randomBytes(16).toString('hex')}" Version="2.0" IssueInstant="${iso(now)}" Destination="${esc(o.acsUrl)}" InResponseTo="${esc(o.inResponseTo)}">`
        + `<saml:Issuer>${issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>${assertion}</samlp:Response>`;
      const mode = o.signing ?? 'assertion';
      let out = mode === 'none' ? xml : sign(xml, mode === 'other' ? stranger : signer);
      if (mode === 'tampered') out = out.replace(`>${esc(o.subject)}</saml:NameID>`, '>admin</saml:NameID>');
      return Buffer.from(out, 'utf8').toString('base64');
    },
    close: () => server.close(),
  };

  const refusal = (inResponseTo: string, acsUrl: string) => Buffer.from(
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r${randomBytes(16).toString('hex')}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${esc(acsUrl)}" InResponseTo="${esc(inResponseTo)}"><saml:Issuer>${esc(idp.entityId)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode></samlp:Status></samlp:Response>`,
  ).toString('base64');

  /** HTTP-Redirect binding (SAML bindings §3.4.4.1): DEFLATE, base64, URL-encode; the signature covers the query as sent. */
  const redirectQuery = (param: 'SAMLRequest' | 'SAMLResponse', xml: string, relayState: string, signing: LogoutSigning): string => {
    const enc = (v: string) => encodeURIComponent(v);
    let q = `${param}=${enc(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}` + (relayState ? `&RelayState=${enc(relayState)}` : '') + `&SigAlg=${enc(RSA_SHA256)}`;
    if (signing === 'none') return q;
    const sig = createSign('RSA-SHA256').update(q).sign((signing === 'other' ? stranger : signer).keyPem, 'base64');
    if (signing === 'tampered') q = `${param}=${enc(deflateRawSync(Buffer.from(xml.replace(/>([^<]+)<\/saml:NameID>/, '>admin</saml:NameID>'), 'utf8')).toString('base64'))}` + q.slice(q.indexOf('&'));
    return `${q}&Signature=${enc(sig)}`;
  };
  const logoutResponse = (destination: string, inResponseTo: string | null) =>
    `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lr${randomBytes(16).toString('hex')}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${esc(destination)}"${inResponseTo ? ` InResponseTo="${esc(inResponseTo)}"` : ''}>`
    + `<saml:Issuer>${esc(idp.entityId)}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status></samlp:LogoutResponse>`;

  const server: Server = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', idp.ssoUrl);
    if (url.pathname === '/slo' && req.method === 'GET') {
      // An SP's LogoutRequest: the IdP ends its session and answers at the SP's SLO endpoint (beside its ACS).
      const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
      const id = /\sID="([^"]+)"/.exec(xml)?.[1] ?? '';
      const relayState = url.searchParams.get('RelayState') ?? '';
      const answeredTo = (idp.requests.at(-1)?.acsUrl ?? '').replace(/\/acs$/, '/slo');
      idp.logoutRequests.push({ xml, id, nameId: />([^<]+)<\/saml:NameID>/.exec(xml)?.[1] ?? '', sessionIndex: /SessionIndex[^>]*>([^<]+)</.exec(xml)?.[1] ?? null, relayState, answeredTo });
      res.writeHead(302, { location: answeredTo + '?' + redirectQuery('SAMLResponse', logoutResponse(answeredTo, id), relayState, 'ok') }).end();
      return;
    }
    if (url.pathname !== '/sso' || req.method !== 'GET') {
      res.writeHead(404).end();
      return;
    }
    const xml = inflateRawSync(Buffer.from(url.searchParams.get('SAMLRequest') ?? '', 'base64')).toString('utf8');
    const id = /\sID="([^"]+)"/.exec(xml)?.[1] ?? '';
    const acsUrl = /AssertionConsumerServiceURL="([^"]+)"/.exec(xml)?.[1] ?? '';
    const relayState = url.searchParams.get('RelayState') ?? '';
    idp.requests.push({ xml, id, acsUrl, relayState });
    const who = idp.signInAs;
    const response = who ? idp.response({ inResponseTo: id, acsUrl, subject: who.subject, authnContext: who.mfa === false ? SAML_PASSWORD : SAML_MFA }) : refusal(id, acsUrl);
    idp.lastResponse = response;
    // The HTTP-POST binding (SAML bindings §3.5): a form the page posts to the SP's ACS.
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><html lang="en"><head><title>TEST SAML IdP</title></head><body onload="document.forms[0].submit()">`
      + `<h1>TEST SAML IdP: signing in ${esc(who?.subject ?? 'nobody')}</h1>`
      + `<form method="post" action="${esc(acsUrl)}"><input type="hidden" name="SAMLResponse" value="${response}"><input type="hidden" name="RelayState" value="${esc(relayState)}"><button type="submit">Continue</button></form></body></html>`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  idp.entityId = `${origin}/metadata`;
  idp.ssoUrl = `${origin}/sso`;
  idp.sloUrl = `${origin}/slo`;
  return idp;
}
