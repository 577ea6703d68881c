// Catastrophic backtracking guard: each detector must get through 1 MB of adversarial input. The
// bound is generous on purpose (a shared 2-core machine); it only catches super-linear blow-ups,
// which would take minutes or hours on these inputs.
import { strict as assert } from 'node:assert';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import type { Finding } from '../../src/core/types.js';
import { createStreamRedactor, checkOutputRules, detectInjection, detectSensitive } from '../../src/inspect/index.js';
import { findDatesOfBirth } from '../../src/inspect/pii/date-of-birth.js';
import { findEmails } from '../../src/inspect/pii/email.js';
import { findIbans } from '../../src/inspect/pii/iban.js';
import { findIpAddresses } from '../../src/inspect/pii/ip-address.js';
import { findPaymentCards } from '../../src/inspect/pii/payment-card.js';
import { findGivenNames } from '../../src/inspect/pii/given-name.js';
import { findPersonNames } from '../../src/inspect/pii/person-name.js';
import { findPhones } from '../../src/inspect/pii/phone.js';
import { findStreetAddresses } from '../../src/inspect/pii/street-address.js';
import { findUsSsns } from '../../src/inspect/pii/us-ssn.js';
import { findCredentialAssignments } from '../../src/inspect/secrets/credential-context.js';
import { findPrivateKeys, findUnarmouredPrivateKeys } from '../../src/inspect/secrets/private-key.js';
import { findFormattedTokens } from '../../src/inspect/secrets/token-formats.js';

const MB = 1 << 20;
const BOUND_MS = 10_000;
const fill = (unit: string): string => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);

const ADVERSARIAL: Record<string, string> = {
  digits: fill('1'),
  digitGroups: fill('1 '),
  dashedDigits: fill('12-'),
  dots: fill('1.'),
  colons: fill('a:'),
  hex: fill('ab'),
  ats: fill('a@'),
  localParts: fill('a.'.repeat(40) + '@'),
  domains: fill('@a-'),
  words: fill('Aa '),
  capitals: fill('Mr Aaaa '),
  givenNames: fill('Anna '),
  nameParticles: fill('Anna van der '),
  base64: fill('QUJD'),
  pemHeaders: fill('-----BEGIN PRIVATE KEY-----'),
  jwtish: fill('eyJhbGciOi.'),
  assignments: fill('password=password='),
  ignore: fill('ignore '),
  sqlSelect: fill('SELECT '),
  ibanish: fill('DE89 '),
  nonAscii: fill('а\u200b'),
  tags: fill('\u{E0061}'),
  dates: fill('born 1/'),
};

const DETECTORS: Record<string, (t: string, out: Finding[]) => void> = {
  findEmails, findPaymentCards, findIbans, findUsSsns, findPhones, findIpAddresses, findDatesOfBirth,
  findStreetAddresses, findPersonNames, findGivenNames, findPrivateKeys, findUnarmouredPrivateKeys, findFormattedTokens, findCredentialAssignments,
};

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

for (const [name, detect] of Object.entries(DETECTORS)) {
  test(`ReDoS: ${name} finishes every 1 MB adversarial input`, () => {
    for (const [kind, input] of Object.entries(ADVERSARIAL)) {
      const ms = timed(() => detect(input, []));
      assert.ok(ms < BOUND_MS, `${name} on ${kind}: ${ms.toFixed(0)} ms`);
    }
  });
}

test('ReDoS: injection detector, full sensitive scan and output rules finish every 1 MB adversarial input', () => {
  for (const [kind, input] of Object.entries(ADVERSARIAL)) {
    for (const [name, fn] of [
      ['detectInjection', () => detectInjection(input)],
      ['detectSensitive', () => detectSensitive(input)],
      ['checkOutputRules', () => checkOutputRules(input, ['no_sql', 'no_shell'])],
    ] as const) {
      const ms = timed(fn);
      assert.ok(ms < BOUND_MS, `${name} on ${kind}: ${ms.toFixed(0)} ms`);
    }
  }
});

test('ReDoS: streaming 1 MB of digit groups in small chunks stays linear (bounded hold)', () => {
  const r = createStreamRedactor({ categories: ['pii', 'secret'] });
  const input = ADVERSARIAL.digitGroups!.slice(0, 256 * 1024);
  const ms = timed(() => {
    for (let i = 0; i < input.length; i += 64) r.push(input.slice(i, i + 64));
    r.flush();
  });
  assert.ok(ms < BOUND_MS, `${ms.toFixed(0)} ms`);
});
