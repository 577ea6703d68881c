// The shared ending of a plane's CLI module (`warden model`, `warden data`): help, usage errors (exit 2),
// CLI errors (their exit code), Warden errors and missing files (exit 1, `code: message`).
import { isWardenError } from '../core/errors.js';
import { CliError } from './admin-client.js';

export class UsageError extends Error {}

export async function verbMain(command: string, usage: string, args: string[], run: (verb: string | undefined, rest: string[]) => Promise<number>, explain: (e: unknown) => void = () => {}): Promise<number> {
  const [verb, ...rest] = args;
  const out = (s: string) => process.stdout.write(s + '\n');
  const err = (s: string) => process.stderr.write(s + '\n');
  if (verb === 'help' || verb === '--help' || verb === '-h') {
    out(usage);
    return 0;
  }
  try {
    return await run(verb, rest);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS')) {
      err(`warden ${command}: ${(e as Error).message}\n\n${usage}`);
      return 2;
    }
    explain(e);
    if (e instanceof CliError) {
      err(`warden ${command} ${verb}: ${e.message}`);
      return e.exitCode;
    }
    if (isWardenError(e)) {
      err(`warden ${command} ${verb}: ${e.code}: ${e.message}`);
      return 1;
    }
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      err(`warden ${command} ${verb}: ${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
}
