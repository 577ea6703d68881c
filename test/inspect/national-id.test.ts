// National identity numbers and passports: the issuers' own published example numbers are found with their
// whole span, one changed check digit makes them plain numbers, the weakly checked ones count only when the
// text names them, and bare digit runs (order numbers, tracking numbers) are never taken for them.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import fc from 'fast-check';
import { detectSensitive } from '../../src/inspect/index.js';
import { classifyFindings } from '../../src/inspect/classification.js';
import { mrzCheckDigit, verhoeffValid } from '../../src/inspect/pii/national-id.js';

function ids(text: string): string[] {
  return detectSensitive(text).filter((f) => f.type === 'national_id' || f.type === 'passport').map((f) => `${f.type}:${text.slice(f.start, f.end)}`);
}

// Example numbers as the issuers publish them (or as their documentation and Wikipedia reproduce them).
const EXAMPLES: [string, string, string][] = [
  ['Spain DNI (Ministerio del Interior example)', 'Mi DNI es 12345678Z.', '12345678Z'],
  ['Spain NIE', 'NIE X1234567L', 'X1234567L'],
  ['Italy codice fiscale (Agenzia delle Entrate example, Mario Rossi)', 'codice fiscale RSSMRA85T10A562S', 'RSSMRA85T10A562S'],
  ['Netherlands BSN (Belastingdienst test number)', 'BSN 123456782', '123456782'],
  ['Germany Steuer-ID (BZSt format example)', 'Steuer-ID: 86095742719', '86095742719'],
  ['Poland PESEL (Wikipedia example)', 'PESEL 44051401359', '44051401359'],
  ['China resident ID (GB 11643 example)', '身份证号 11010519491231002X', '11010519491231002X'],
  ['Brazil CPF (Receita Federal example)', 'CPF 111.444.777-35', '111.444.777-35'],
  ['Sweden personnummer (Skatteverket example)', 'personnummer 811228-9874', '811228-9874'],
  ['Finland henkilötunnus (DVV example)', 'HETU 131052-308T', '131052-308T'],
  ['UK National Insurance number, printed form', 'NI: AB 12 34 56 C', 'AB 12 34 56 C'],
  ['Canada SIN (Service Canada example)', 'SIN 046 454 286', '046 454 286'],
];

test('the issuers\u2019 example numbers are found whole, as national_id', () => {
  for (const [what, text, value] of EXAMPLES) assert.deepEqual(ids(text), [`national_id:${value}`], what);
});

test('one changed check digit and the number is no identifier', () => {
  const broken: [string, string][] = [
    ['DNI', 'Mi DNI es 12345678A.'],
    ['codice fiscale', 'codice fiscale RSSMRA85T10A562T'],
    ['BSN', 'BSN 123456783'],
    ['Steuer-ID', 'Steuer-ID: 86095742718'],
    ['PESEL', 'PESEL 44051401358'],
    ['China ID', '身份证号 110105194912310021'],
    ['China ID, no such date', '身份证号 11010519490231002X'],
    ['CPF', 'CPF 111.444.777-36'],
    ['CPF, all one digit', 'CPF 111.111.111-11'],
    ['personnummer', 'personnummer 811228-9875'],
    ['HETU', 'HETU 131052-308U'],
    ['NINO, prefix never issued', 'NI: GB 12 34 56 C'],
    ['SIN', 'SIN 046 454 287'],
  ];
  for (const [what, text] of broken) assert.deepEqual(ids(text), [], what);
});

test('numbers with a weak check count only when the text names them', () => {
  assert.deepEqual(ids('order 123456782 shipped'), []);
  assert.deepEqual(ids('ticket 86095742719 closed'), []);
  assert.deepEqual(ids('ref 44051401359'), []);
  assert.deepEqual(ids('batch 046 454 286'), []);
  assert.deepEqual(ids('product AB123456C in stock'), [], 'a compact NINO shape is a product code as often as not');
  assert.deepEqual(ids('my national insurance number is AB123456C'), ['national_id:AB123456C']);
  assert.deepEqual(ids('burgerservicenummer: 1234.56.782'), ['national_id:1234.56.782']);
  const aadhaar = '2345 6789 0124';
  const digits = aadhaar.replace(/ /g, '').split('').map(Number);
  assert.equal(verhoeffValid(digits), true, 'the test number carries a Verhoeff check digit');
  assert.deepEqual(ids(`Aadhaar ${aadhaar}`), [`national_id:${aadhaar}`]);
  assert.deepEqual(ids(`invoice ${aadhaar}`), []);
});

test('Verhoeff and ICAO 9303 check digits: the published worked examples', () => {
  // Verhoeff (Wikipedia's worked example): 236 takes check digit 3.
  assert.equal(verhoeffValid([2, 3, 6, 3]), true);
  assert.equal(verhoeffValid([2, 3, 6, 4]), false);
  // ICAO Doc 9303 part 3 §4.9 example: document number "L898902C3" has check digit 6; birth date 740812 has 2.
  assert.equal(mrzCheckDigit('L898902C3'), 6);
  assert.equal(mrzCheckDigit('740812'), 2);
  assert.equal(mrzCheckDigit('120415'), 9);
});

test('a passport MRZ (ICAO 9303 specimen) is found with its name line; a broken check digit is not', () => {
  const line1 = 'P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<';
  const line2 = 'L898902C36UTO7408122F1204159ZE184226B<<<<<10';
  assert.deepEqual(ids(`scan:\n${line1}\n${line2}\nend`), [`passport:${line1}\n${line2}`]);
  assert.deepEqual(ids(line2), [`passport:${line2}`], 'the second line alone');
  assert.deepEqual(ids(`${line1}\n${line2.slice(0, 9)}7${line2.slice(10)}`), [], 'document number check digit');
  assert.deepEqual(ids(`${line1}\n${line2.slice(0, 43)}1`), [], 'composite check digit');
});

test('a passport number after its name, in several languages', () => {
  assert.deepEqual(ids('My passport number is X1234567.'), ['passport:X1234567']);
  assert.deepEqual(ids('Passport No. C01X00T47 issued 2020'), ['passport:C01X00T47']);
  assert.deepEqual(ids('passeport 18AB12345'), ['passport:18AB12345']);
  assert.deepEqual(ids('Reisepassnummer: C01X00T47'), ['passport:C01X00T47']);
  assert.deepEqual(ids('pasaporte: XDB123456'), ['passport:XDB123456']);
  assert.deepEqual(ids('passport photos are 35 mm wide; passport office closes at five'), []);
});

test('bare digit runs in ordinary text are never national identifiers', () => {
  const number = fc.oneof(fc.stringMatching(/^[0-9]{9}$/), fc.stringMatching(/^[0-9]{11}$/), fc.stringMatching(/^[0-9]{12}$/));
  const lead = fc.constantFrom('order', 'tracking number', 'invoice', 'ticket', 'build', 'account', 'ref');
  fc.assert(fc.property(lead, number, (l, n) => assert.deepEqual(ids(`${l} ${n} was processed`), [])), { numRuns: 3000 });
});

test('national identifiers and passports make a request confidential', () => {
  assert.equal(classifyFindings(detectSensitive('codice fiscale RSSMRA85T10A562S')), 'confidential');
  assert.equal(classifyFindings(detectSensitive('My passport number is X1234567.')), 'confidential');
});
