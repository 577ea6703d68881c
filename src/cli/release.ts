// `warden release build` (what `npm run release` runs) and `warden verify-release`: Warden's own supply chain
// with Warden's own signing code. build: npm pack → the tarball, npm sbom (from package-lock.json, no network)
// → a CycloneDX SBOM, and an in-toto SLSA provenance statement over both, DSSE-signed with the key given.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPublicKey, pemSigner } from '../workload/signing/keys.js';
import { signRelease, verifyRelease } from '../workload/release/provenance.js';
import { CliError, readInputFile } from './admin-client.js';

const USAGE = `usage:
  warden release build --key PRIVATE.pem [--out DIR] [--dir PACKAGE_DIR] [--builder-id URI] [--allow-dirty]
      packs the package (npm pack), writes its CycloneDX SBOM (npm sbom, from the lockfile) and a signed
      SLSA provenance (DSSE) into DIR (default: release/); refuses an uncommitted tree unless --allow-dirty
  warden verify-release TARBALL --provenance FILE --sbom FILE --key PUBLIC.pem
      checks the signature, the tarball's digest against the signed subject and the SBOM's digest`;

const DEFAULT_BUILDER = 'https://warden.local/release/builder/local';

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new CliError(`${cmd} ${args.join(' ')} failed: ${(err.stderr || err.message).trim().slice(0, 2000)}`, 1);
  }
}

async function build(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { key: { type: 'string' }, out: { type: 'string' }, dir: { type: 'string' }, 'builder-id': { type: 'string' }, 'allow-dirty': { type: 'boolean' } },
  });
  if (!values.key) throw new CliError(`--key is required\n${USAGE}`, 2);
  const signer = pemSigner(readInputFile(values.key, 'release key'));
  const dir = resolve(values.dir ?? '.');
  const out = resolve(values.out ?? join(dir, 'release'));
  const pkg = JSON.parse(readInputFile(join(dir, 'package.json'), 'package.json').toString('utf8')) as { name?: unknown; version?: unknown };
  if (typeof pkg.name !== 'string' || typeof pkg.version !== 'string') throw new CliError('package.json has no name or version', 2);

  // The provenance names the commit; a tree with uncommitted changes would make that claim false.
  const commit = run('git', ['rev-parse', 'HEAD'], dir).trim();
  const clean = run('git', ['status', '--porcelain', '--untracked-files=no'], dir).trim() === '';
  if (!clean && !values['allow-dirty']) throw new CliError('the work tree has uncommitted changes: commit them, or pass --allow-dirty (recorded in the provenance)', 2);

  mkdirSync(out, { recursive: true });
  const startedOn = new Date();
  // --ignore-scripts: the build already ran; packing must not run code that could change what is packed.
  const packed = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], dir)) as { filename: string }[];
  const tarballName = packed[0]?.filename;
  if (!tarballName) throw new CliError('npm pack reported no tarball', 1);
  const tarballPath = join(out, basename(tarballName));
  const sbomText = run('npm', ['sbom', '--package-lock-only', '--omit', 'dev', '--sbom-format', 'cyclonedx', '--sbom-type', 'application'], dir);
  const stem = basename(tarballName).replace(/\.tgz$/, '');
  const sbomPath = join(out, `${stem}.cdx.json`);
  writeFileSync(sbomPath, sbomText);

  const envelope = await signRelease(
    {
      packageName: pkg.name,
      version: pkg.version,
      tarball: { name: basename(tarballName), bytes: readFileSync(tarballPath) },
      sbom: { name: basename(sbomPath), bytes: Buffer.from(sbomText, 'utf8') },
      source: { uri: `git+file://${dir}`, commit, clean },
      builderId: values['builder-id'] ?? DEFAULT_BUILDER,
      startedOn,
      finishedOn: new Date(),
    },
    signer,
  );
  const provenancePath = join(out, `${stem}.provenance.json`);
  writeFileSync(provenancePath, JSON.stringify(envelope, null, 2) + '\n');
  process.stdout.write(
    [
      `tarball     ${tarballPath}`,
      `sbom        ${sbomPath}`,
      `provenance  ${provenancePath}   (in-toto SLSA v1 in DSSE, ${signer.description})`,
      clean ? `source      ${commit}` : `source      ${commit} + uncommitted changes (--allow-dirty)`,
      `verify      warden verify-release ${tarballPath} --provenance ${provenancePath} --sbom ${sbomPath} --key <public key>`,
      '',
    ].join('\n'),
  );
  return 0;
}

function verify(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { provenance: { type: 'string' }, sbom: { type: 'string' }, key: { type: 'string' } },
  });
  const tarball = positionals[0];
  if (!tarball || positionals.length !== 1 || !values.provenance || !values.sbom || !values.key) throw new CliError(USAGE, 2);
  let envelope: unknown;
  try {
    envelope = JSON.parse(readInputFile(values.provenance, 'provenance').toString('utf8'));
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${values.provenance} is not JSON`, 1);
  }
  const v = verifyRelease({
    envelope,
    tarball: readInputFile(tarball, 'tarball'),
    sbom: readInputFile(values.sbom, 'SBOM'),
    key: loadPublicKey(readInputFile(values.key, 'public key')),
  });
  process.stdout.write(
    `release verified: ${v.packageName}@${v.version} ${v.tarballName} sha256:${v.tarballSha256}\n` +
      `  sbom ${v.sbomName} sha256:${v.sbomSha256}\n  built by ${v.builderId} from commit ${v.sourceCommit}\n`,
  );
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, verb, ...rest] = argv;
  if (cmd === 'verify-release') return verify(argv.slice(1));
  if (cmd === 'release' && verb === 'build') return build(rest);
  throw new CliError(USAGE, 2);
}
