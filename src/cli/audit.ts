// `warden audit verify` and `warden receipt verify`: offline verifiers that trust only a public key.
// Exit codes: 0 verified, 1 verification failed (tampering, fork, bad receipt), 2 usage error, 3 could not read input.
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { auditVerify } from '../ledger/audit-verify.js';
import { LedgerVerificationError } from '../ledger/errors.js';
import { receiptVerify } from '../ledger/receipt-verify.js';

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}
const processIo: CliIo = { out: (l) => process.stdout.write(l + '\n'), err: (l) => process.stderr.write(l + '\n') };

class UsageError extends Error {}

const AUDIT_USAGE = 'usage: warden audit verify --log <url|dir> --key <vkey|pubkey.pem|file> [--key ...] [--state <file>] [--witness <vkey|file> ... --min-witnesses N [--max-witness-age SECONDS]]';
/** Without --max-witness-age, cosignatures older than this do not count: an old cosignature of a shorter tree would otherwise vouch for a truncated log. */
export const DEFAULT_MAX_WITNESS_AGE_SEC = 3600;
const RECEIPT_USAGE = 'usage: warden receipt verify <receipt|file> --log <url|dir> --key <vkey|pubkey.pem|file> [--key ...] [--request <file>] [--response <file>]';

/** --key: a C2SP vkey, or a file holding a vkey or a PEM public key. */
function readKey(arg: string): string {
  if (existsSync(arg)) return readFileSync(arg, 'utf8').trim();
  return arg.trim();
}

/**
 * Every --key: the log's keys across rotations (`warden ledger key list --vkeys` prints them, one per line,
 * so a file may hold several vkeys; a PEM file holds one key).
 */
function readKeys(args: readonly string[]): string[] {
  return args.flatMap((a) => {
    const text = readKey(a);
    return text.includes('-----BEGIN') ? [text] : text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  });
}

const OPTIONS = {
  log: { type: 'string' },
  key: { type: 'string', multiple: true },
  state: { type: 'string' },
  request: { type: 'string' },
  response: { type: 'string' },
  witness: { type: 'string', multiple: true },
  'min-witnesses': { type: 'string' },
  'max-witness-age': { type: 'string' },
} as const;

function parse(args: string[], usage: string, allowed: readonly (keyof typeof OPTIONS)[]) {
  try {
    const r = parseArgs({ args, allowPositionals: true, strict: true, options: OPTIONS });
    const extra = Object.keys(r.values).filter((k) => !['log', 'key', ...allowed].includes(k));
    if (extra.length) throw new Error(`option --${extra[0]} does not apply here`);
    return r;
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${usage}`);
  }
}

/** The admin credential (and step-up proof) for reading entry bundles, from the environment only. */
function logHeaders(): Record<string, string> | undefined {
  const key = process.env.WARDEN_ADMIN_KEY;
  if (!key) return undefined;
  return { authorization: `Bearer ${key}`, ...(process.env.WARDEN_MFA_TOKEN ? { 'warden-mfa-token': process.env.WARDEN_MFA_TOKEN } : {}) };
}

async function auditVerifyCmd(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, AUDIT_USAGE, ['state', 'witness', 'min-witnesses', 'max-witness-age']);
  if (positionals.length > 0 || !values.log || !values.key?.length) throw new UsageError(AUDIT_USAGE);
  const count = (name: string, v: string | undefined, min: number): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^[0-9]{1,9}$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be an integer >= ${min}\n${AUDIT_USAGE}`);
    return Number(v);
  };
  const witnesses = (values.witness ?? []).map(readKey);
  const minWitnesses = count('min-witnesses', values['min-witnesses'], 1);
  const maxAge = count('max-witness-age', values['max-witness-age'], 1);
  if (minWitnesses === undefined && (witnesses.length > 0 || maxAge !== undefined)) throw new UsageError(`--witness and --max-witness-age need --min-witnesses N\n${AUDIT_USAGE}`);
  if (minWitnesses !== undefined && witnesses.length < minWitnesses) throw new UsageError(`--min-witnesses ${minWitnesses} needs at least ${minWitnesses} --witness keys\n${AUDIT_USAGE}`);
  const headers = logHeaders();
  const r = await auditVerify({
    log: values.log,
    key: readKeys(values.key),
    ...(values.state ? { statePath: values.state } : {}),
    ...(headers ? { headers } : {}),
    ...(minWitnesses !== undefined ? { witnesses, minWitnesses, maxWitnessAgeSec: maxAge ?? DEFAULT_MAX_WITNESS_AGE_SEC } : {}),
  });
  io.out(`OK: log ${r.origin} verified: ${r.size} entries, root ${r.rootHash}`);
  if (r.previous) io.out(`OK: consistent with the saved checkpoint at size ${r.previous.size}`);
  if (r.witnessed) {
    const who = r.witnessed.cosigners.map((c) => `${c.name} at ${new Date(c.timestamp * 1000).toISOString()}`).join(', ');
    io.out(`OK: consistent with the checkpoint at size ${r.witnessed.size} cosigned by ${r.witnessed.cosigners.length} witness(es): ${who}`);
  }
  return 0;
}

async function receiptVerifyCmd(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(args, RECEIPT_USAGE, ['request', 'response']);
  if (positionals.length !== 1 || !values.log || !values.key?.length) throw new UsageError(RECEIPT_USAGE);
  const receiptArg = positionals[0]!;
  const receipt = existsSync(receiptArg) ? readFileSync(receiptArg, 'utf8').trim() : receiptArg;
  const r = await receiptVerify({
    receipt,
    log: values.log,
    key: readKeys(values.key),
    ...(values.request ? { request: readFileSync(values.request) } : {}),
    ...(values.response ? { response: readFileSync(values.response) } : {}),
    ...(logHeaders() ? { headers: logHeaders()! } : {}),
  });
  io.out(`OK: receipt for ${r.payload.decisionId} is entry ${r.payload.leafIndex} of log ${r.payload.iss} (log size ${r.logSize}, receipt checkpoint ${r.receiptCheckpointSize})`);
  if (r.entry === null) io.out('NOTE: the log keeps its entries behind admin credentials: inclusion is proven, the entry itself was not compared (set WARDEN_ADMIN_KEY to compare it)');
  if (values.request) io.out('OK: request body matches the receipt digest');
  if (values.response) io.out('OK: response body matches the receipt digest');
  return 0;
}

async function run(family: 'audit' | 'receipt', args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  const usage = family === 'audit' ? AUDIT_USAGE : RECEIPT_USAGE;
  try {
    if (sub !== 'verify') throw new UsageError(usage);
    return await (family === 'audit' ? auditVerifyCmd(rest, io) : receiptVerifyCmd(rest, io));
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(e.message);
      return 2;
    }
    if (e instanceof LedgerVerificationError) {
      io.err(`FAILED: ${e.name} (${e.code}): ${e.message}`);
      return 1;
    }
    io.err(`ERROR: could not complete the check: ${describeFailure(e)}`);
    return 3;
  }
}

/** fetch() reports every network failure as "fetch failed"; the cause says which (refused, untrusted CA, …). */
function describeFailure(e: unknown): string {
  const msg = (e as Error).message;
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (!cause) return msg;
  const detail = `${msg} (${cause.code ?? ''}${cause.code && cause.message ? ': ' : ''}${cause.message ?? ''})`;
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(cause.code ?? '');
  return tls ? `${detail}; trust the log's CA with NODE_EXTRA_CA_CERTS=<data-dir>/ca.pem` : detail;
}

/** `warden audit ...` (args without the word `audit`). */
export function auditMain(args: string[], io: CliIo = processIo): Promise<number> {
  return run('audit', args, io);
}

/** `warden receipt ...` (args without the word `receipt`). */
export function receiptMain(args: string[], io: CliIo = processIo): Promise<number> {
  return run('receipt', args, io);
}

/**
 * One entry for both commands. Accepts the full form (`audit verify ...`, `receipt verify ...`) or the
 * form without the leading word: `verify --log ...` is the audit check (it takes no positional), while
 * `verify <receipt> ...` (one positional) is the receipt check.
 */
export async function main(args: string[], io: CliIo = processIo): Promise<number> {
  if (args[0] === 'audit') return auditMain(args.slice(1), io);
  if (args[0] === 'receipt') return receiptMain(args.slice(1), io);
  const positional = args.slice(1).filter((a, i, all) => !a.startsWith('--') && !(all[i - 1] ?? '').startsWith('--'));
  return positional.length > 0 ? receiptMain(args, io) : auditMain(args, io);
}
