// `npm audit --omit=dev --audit-level=high`, with the two ways it can end told apart: findings at high or
// critical severity fail (exit 1); an advisory service that cannot be asked is also a failure, unless
// WARDEN_AUDIT_UNAVAILABLE=warn says this environment is known to lack it, and then it is printed as NOT CHECKED.
import { spawnSync } from 'node:child_process';

const r = spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], { encoding: 'utf8', shell: process.platform === 'win32' });
let report;
try {
  report = JSON.parse(r.stdout);
} catch {
  console.error(`audit: npm audit printed no JSON (exit ${r.status}): ${r.stderr.trim().slice(0, 500)}`);
  process.exit(1);
}
const counts = report.metadata?.vulnerabilities;
if (!counts) {
  const why = report.message ?? report.error?.summary ?? 'no vulnerability counts in the answer';
  if (process.env.WARDEN_AUDIT_UNAVAILABLE === 'warn') {
    console.warn(`audit: NOT CHECKED — the advisory service could not be asked (${why})`);
    process.exit(0);
  }
  console.error(`audit: the advisory service could not be asked (${why}); set WARDEN_AUDIT_UNAVAILABLE=warn only where it is known to be absent`);
  process.exit(1);
}
const high = (counts.high ?? 0) + (counts.critical ?? 0);
console.log(`audit: production dependencies: ${counts.critical ?? 0} critical, ${counts.high ?? 0} high, ${counts.moderate ?? 0} moderate, ${counts.low ?? 0} low`);
if (high > 0) {
  for (const [name, v] of Object.entries(report.vulnerabilities ?? {})) {
    if (v.severity === 'high' || v.severity === 'critical') console.error(`  ${v.severity}: ${name} ${v.range ?? ''}`);
  }
  process.exit(1);
}
