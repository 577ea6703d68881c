// `warden witness`: runs a C2SP tlog-witness for the logs whose keys it is given (a second Warden can
// witness the first), and `warden witness key` prints the witness's cosignature verifier key.
import { resolve, join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { systemClock } from '../core/clock.js';
import { parseVerifierKey } from '../ledger/note.js';
import { Witness } from '../ledger/witness/witness.js';
import { DEFAULT_WITNESS_NAME, loadOrCreateWitnessKey } from '../ledger/witness/key.js';
import { startWitnessServer } from '../ledger/witness/server.js';
import { openSqlite } from '../store/sqlite.js';
import { SqliteWitnessStore } from '../store/witness-sqlite.js';
import { CliError } from './admin-client.js';

const USAGE = `usage: warden witness --data-dir DIR --log-key <vkey|file> [--log-key ...] [--port N] [--host H] [--name NAME]
       warden witness key --data-dir DIR [--name NAME]

  Cosigns (C2SP tlog-cosignature) the checkpoints of the logs whose keys are given, after checking each is
  consistent with the last one it cosigned. POST <url>/add-checkpoint (C2SP tlog-witness).`;

const OPTIONS = {
  'data-dir': { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  name: { type: 'string' },
  'log-key': { type: 'string', multiple: true },
} as const;

function readKey(arg: string): string {
  return existsSync(arg) ? readFileSync(arg, 'utf8').trim() : arg.trim();
}

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'key')) throw new CliError(USAGE, 2);
  if (!values['data-dir']) throw new CliError(`--data-dir is required\n${USAGE}`, 2);
  const dataDir = resolve(values['data-dir']);
  let key;
  try {
    key = loadOrCreateWitnessKey(dataDir, values.name ?? DEFAULT_WITNESS_NAME);
  } catch (e) {
    throw new CliError(`witness key in ${dataDir}: ${(e as Error).message}`, 2);
  }
  if (positionals[0] === 'key') {
    process.stdout.write(key.vkey + '\n');
    return 0;
  }
  const logKeys = (values['log-key'] ?? []).map((k) => {
    try {
      return parseVerifierKey(readKey(k));
    } catch (e) {
      throw new CliError(`--log-key ${JSON.stringify(k)}: ${(e as Error).message}`, 2);
    }
  });
  if (logKeys.length === 0) throw new CliError(`at least one --log-key is required: a witness follows only logs it knows\n${USAGE}`, 2);
  const port = values.port === undefined ? 7380 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be 0-65535, got ${values.port}`, 2);
  const log = pino({ base: { svc: 'warden-witness' } });
  const db = openSqlite(join(dataDir, 'witness.db'));
  const witness = new Witness({ store: new SqliteWitnessStore(db), signer: key.signer, logKeys, clock: systemClock });
  const stop = new Promise<void>((r) => {
    process.once('SIGINT', () => r());
    process.once('SIGTERM', () => r());
  });
  const running = await startWitnessServer(witness, port, values.host ?? '127.0.0.1', {
    onRefusal: (e) => log.warn({ status: e.status, code: e.code, msg: e.message }, 'add-checkpoint refused'),
  }).catch((e: unknown) => {
    db.close();
    throw new CliError(`cannot listen on ${values.host ?? '127.0.0.1'}:${port}: ${(e as Error).message}`, 1);
  });
  process.stdout.write(`Warden witness listening at ${running.url} (POST /add-checkpoint)\n  witness key ${key.vkey}\n  logs        ${witness.origins.join(', ')}\n`);
  await stop;
  await running.close();
  db.close();
  return 0;
}
