#!/usr/bin/env bash
# Three `warden up` replicas on the cluster stores (PostgreSQL + Redis) behind nginx, all on 127.0.0.1:
# a key created through replica 1's admin API chats through the load balancer (demo upstream); mixed traffic
# with the official openai client shows one rate limit holding across the replicas (within ±5%) and a budget
# (`warden budgets set`) that 200 concurrent requests do not overspend; keys revoked through replica 1 are
# refused by replicas 2 and 3 within a second (p50/p99 printed); an approval through replica 3 releases a call
# held on replica 1 (scripts/cluster-demo-checks.mjs). Then replica 3 is killed (SIGKILL) under load and only
# requests in flight on it fail, every receipt a client got being in the log; the key is revoked through
# replica 2 and is then refused through the load balancer; `warden audit verify` checks the one shared log and
# `warden receipt verify` the receipts handed out by whichever replica served them.
#
#   npm run build && scripts/cluster-demo.sh
#
# Needs PostgreSQL on 127.0.0.1:5432 (db `test`, trust auth; or set WARDEN_PG_URL), Redis on 127.0.0.1:6379
# (or WARDEN_REDIS_URL), nginx (/usr/sbin/nginx, run unprivileged in the foreground with a temporary config)
# and openssl. Ports: the load balancer on LB_PORT (18080), the demo IdP's JWKS on IDP_PORT (LB_PORT+1), replica i
# on PORT_BASE+i (inference, 18441-3) and PORT_BASE+500+i (admin). Everything it creates (data dirs, tables with
# a random prefix, Redis keys) is removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
WARDEN="node $PWD/bin/warden.js"
PG_URL="${WARDEN_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
REDIS_URL="${WARDEN_REDIS_URL:-redis://127.0.0.1:6379}"
NGINX="${NGINX:-/usr/sbin/nginx}"
LB_PORT="${LB_PORT:-18080}"
IDP_PORT="${IDP_PORT:-$((LB_PORT + 1))}"
PORT_BASE="${PORT_BASE:-18440}"
inf_port() { echo $((PORT_BASE + $1)); }
adm_port() { echo $((PORT_BASE + 500 + $1)); }
[ -f dist/src/ledger/key.js ] || { echo "build first: npm run build" >&2; exit 1; }

WORK="$(mktemp -d /tmp/warden-cluster-demo.XXXXXX)"
PREFIX="demo_$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')_"
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  node -e '
    const pg = require("pg"); const { Redis } = require("ioredis");
    (async () => {
      const c = new pg.Client({ connectionString: process.argv[1] }); await c.connect();
      const t = await c.query("SELECT tablename FROM pg_tables WHERE tablename LIKE $1", [process.argv[3] + "%"]);
      for (const { tablename } of t.rows) await c.query(`DROP TABLE IF EXISTS ${tablename} CASCADE`);
      await c.end();
      const r = new Redis(process.argv[2]); const k = await r.keys(process.argv[3] + ":*"); if (k.length) await r.del(...k); r.disconnect();
    })().catch((e) => { console.error("cleanup:", e.message); process.exit(1); });' "$PG_URL" "$REDIS_URL" "$PREFIX" || true
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK (replica logs: r*/out.log)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "one ledger key for all replicas (one log, one signer)"
node --input-type=module -e "import('$PWD/dist/src/ledger/key.js').then((m) => console.log(m.loadOrCreateLedgerKey(process.argv[1]).vkey))" "$WORK/key" >"$WORK/vkey"
VKEY="$(cat "$WORK/vkey")"
echo "ledger key: $VKEY"

step "the demo's identity provider for approvers' MFA step-up (a fake external IdP: a signing key, its JWKS served by nginx)"
mkdir -p -m 700 "$WORK/idp"
node --input-type=module -e "
  import { generateKeyPairSync } from 'node:crypto';
  import { writeFileSync } from 'node:fs';
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(process.argv[1] + '/key.pem', privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(process.argv[1] + '/jwks.json', JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'demo-idp', alg: 'ES256', use: 'sig' }] }));
" "$WORK/idp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=demo-idp \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/idp/tls.key" -out "$WORK/idp/tls.pem" 2>/dev/null
IDP_ISSUER="https://127.0.0.1:$IDP_PORT"
echo "issuer $IDP_ISSUER"

step "one data KEK for all replicas (model keys and retained payloads are shared in PostgreSQL, wrapped under it)"
$WARDEN data new-key "$WORK/key/data-kek.bin"

for i in 1 2 3; do
  mkdir -p -m 700 "$WORK/r$i/data"
  cp "$WORK/key/ledger-key.pem" "$WORK/r$i/data/" && chmod 600 "$WORK/r$i/data/ledger-key.pem"
  cat >"$WORK/r$i/warden.yaml" <<EOF
dataDir: ./data
listeners:
  inference: { host: 127.0.0.1, port: $(inf_port $i) }
  admin: { host: 127.0.0.1, port: $(adm_port $i) }
store:
  postgres: { connectionString: "$PG_URL", prefix: $PREFIX }
  redis: { url: "$REDIS_URL", prefix: "$PREFIX:" }
encryption:
  kek: { file: $WORK/key/data-kek.bin }
models:
  demo-chat: { grantees: [consumers] }
  demo-embed: { grantees: [consumers] }
# Every request of this demo comes from 127.0.0.1, including its deliberate failures (40 polls of revoked keys
# until they answer 401), and the budget of failed authentications per source is shared by the replicas: raised
# here so the demo's own checks are not taken for a credential-stuffing source (default burst 30, 2/s).
limits:
  unauthenticated: { burst: 1000, requestsPerSecond: 100 }
oidc:
  issuers:
    - issuer: $IDP_ISSUER
      audience: warden
      jwksUri: $IDP_ISSUER/jwks
      caFile: $WORK/idp/tls.pem
      claims: { tenant: { fixed: acme } }
      scope: { models: [], actions: [] }
EOF
done

step "start three replicas at once (a first start: exactly one of them prints the bootstrap credential)"
for i in 1 2 3; do
  (cd "$WORK/r$i" && exec $WARDEN up --config warden.yaml >"$WORK/r$i/out.log" 2>&1) &
  PIDS+=($!)
done
for i in 1 2 3; do
  for _ in $(seq 1 100); do grep -q 'Warden is running' "$WORK/r$i/out.log" 2>/dev/null && break; sleep 0.2; done
  grep -q 'Warden is running' "$WORK/r$i/out.log" || { echo "replica $i did not start:"; cat "$WORK/r$i/out.log"; exit 1; }
  echo "replica $i: inference https://127.0.0.1:$(inf_port $i)  admin https://127.0.0.1:$(adm_port $i)"
done
ADMIN_KEY="$(grep -ho 'export WARDEN_ADMIN_KEY=wdn_[A-Za-z0-9_-]*' "$WORK"/r*/out.log | sed 's/.*=//')"
[ "$(echo "$ADMIN_KEY" | wc -l)" = 1 ] && [ -n "$ADMIN_KEY" ] || { echo "expected exactly one bootstrap credential, got: $ADMIN_KEY"; exit 1; }
echo "bootstrap credentials printed: 1"

step "nginx on http://127.0.0.1:$LB_PORT, round robin over the replicas' TLS listeners (each verified with its dev CA)"
for i in 1 2 3; do cat "$WORK/r$i/data/ca.pem"; echo; done >"$WORK/cas.pem"
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log $WORK/nginx/access.log;
  client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
  upstream warden { server 127.0.0.1:$(inf_port 1); server 127.0.0.1:$(inf_port 2); server 127.0.0.1:$(inf_port 3); keepalive 32; }
  server {
    listen 127.0.0.1:$LB_PORT;
    location / {
      proxy_pass https://warden;
      proxy_http_version 1.1;
      proxy_set_header Connection "";   # keep-alive to the replicas (one TLS handshake per connection, not per request)
      proxy_ssl_protocols TLSv1.3;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate $WORK/cas.pem;
      proxy_ssl_name localhost;   # a DNS name of the dev certificates (nginx checks DNS names only)
      add_header X-Upstream \$upstream_addr always;
    }
  }
  server {   # the demo IdP's JWKS (a fake external identity provider)
    listen 127.0.0.1:$IDP_PORT ssl;
    ssl_certificate $WORK/idp/tls.pem;
    ssl_certificate_key $WORK/idp/tls.key;
    location = /jwks { default_type application/json; return 200 '$(cat "$WORK/idp/jwks.json")'; }
  }
}
EOF
"$NGINX" -e "$WORK/nginx/error.log" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$LB_PORT/" && break; sleep 0.1; done
curl -s -o /dev/null "http://127.0.0.1:$LB_PORT/" || { echo "nginx did not start"; cat "$WORK/nginx/error.log"; exit 1; }

admin() { # admin <replica> <method> <path> [json]
  curl -sS --max-time 10 --cacert "$WORK/r$1/data/ca.pem" -X "$2" -H "authorization: Bearer $ADMIN_KEY" -H 'content-type: application/json' \
    ${4:+--data "$4"} "https://127.0.0.1:$(adm_port "$1")$3"
}
chat() { # chat <n>: one request through the load balancer; prints status and the replica that served it
  curl -sS --max-time 10 -o "$WORK/chat.json" -D "$WORK/chat.h" -w '%{http_code}' "http://127.0.0.1:$LB_PORT/v1/chat/completions" \
    -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
    --data '{"model":"demo-chat","messages":[{"role":"user","content":"hello from the cluster demo"}]}'
}

step "create a principal and a key through replica 1's admin API"
admin 1 POST /admin/v1/principals '{"id":"alice","tenant":"acme","groups":["consumers"]}' >/dev/null
admin 1 POST /admin/v1/keys '{"principal":"alice","models":["demo-chat"],"actions":["chat"]}' >"$WORK/key.json"
KEY="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).key)' "$WORK/key.json")"
KEY_ID="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).id)' "$WORK/key.json")"
echo "key $KEY_ID created on replica 1"

step "chat through the load balancer (the demo upstream: a fake echo model, not an LLM)"
mkdir -p "$WORK/receipts"
for n in 1 2 3 4 5 6; do
  code="$(chat)"
  served="$(grep -i '^x-upstream:' "$WORK/chat.h" | tr -d '\r' | cut -d' ' -f2)"
  echo "request $n: HTTP $code via $served"
  [ "$code" = 200 ] || { cat "$WORK/chat.json"; tail -5 "$WORK/nginx/error.log"; exit 1; }
  grep -i '^warden-receipt:' "$WORK/chat.h" | tr -d '\r' | cut -d' ' -f2 >"$WORK/receipts/$n"
done

step "a month budget of ${BUDGET_TOKENS:-1500} tokens for tenant budget-co, set through replica 2 (warden budgets set)"
cli() { # cli <replica> <args…>: the warden CLI against a replica's admin API
  local r="$1"; shift
  WARDEN_CA="$WORK/r$r/data/ca.pem" WARDEN_ADMIN_KEY="$ADMIN_KEY" $WARDEN "$@" --admin-url "https://127.0.0.1:$(adm_port "$r")"
}
cli 2 budgets set tenant budget-co month --tokens "${BUDGET_TOKENS:-1500}"

LB_URL="http://127.0.0.1:$LB_PORT" CAS="$WORK/cas.pem" WARDEN_ADMIN_KEY="$ADMIN_KEY" \
  INFERENCE_URLS="https://127.0.0.1:$(inf_port 1),https://127.0.0.1:$(inf_port 2),https://127.0.0.1:$(inf_port 3)" \
  ADMIN_URLS="https://127.0.0.1:$(adm_port 1),https://127.0.0.1:$(adm_port 2),https://127.0.0.1:$(adm_port 3)" \
  IDP_ISSUER="$IDP_ISSUER" IDP_KEY="$WORK/idp/key.pem" RATE_RPS="${RATE_RPS:-10}" RATE_BURST="${RATE_BURST:-5}" \
  RATE_SECONDS="${RATE_SECONDS:-10}" BUDGET_TENANT=budget-co BUDGET_TOKENS="${BUDGET_TOKENS:-1500}" \
  node scripts/cluster-demo-checks.mjs

step "warden budgets show, through replica 3"
cli 3 budgets show tenant budget-co

step "kill -9 replica 3 while 6 clients send 90 requests through the load balancer"
mkdir -p "$WORK/load"
export WORK LB_PORT KEY
one() { # one <n>: a request through the load balancer; its status in load/<n>.code, its headers in load/<n>.h
  curl -sS --max-time 20 -o "$WORK/load/$1.json" -D "$WORK/load/$1.h" -w '%{http_code}\n' "http://127.0.0.1:$LB_PORT/v1/chat/completions" \
    -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
    --data '{"model":"demo-chat","messages":[{"role":"user","content":"load through the cluster"}]}' >"$WORK/load/$1.code" 2>/dev/null || echo 000 >"$WORK/load/$1.code"
}
export -f one
seq 1 90 | xargs -P 6 -I{} bash -c 'one {}' &
LOAD=$!
for _ in $(seq 1 100); do [ "$(ls "$WORK/load" | grep -c '\.code$')" -ge 20 ] && break; sleep 0.05; done
kill -9 "${PIDS[2]}"
echo "replica 3 killed (SIGKILL) after $(ls "$WORK/load" | grep -c '\.code$') of 90 requests had finished"
wait "$LOAD"
cat "$WORK"/load/*.code | sort | uniq -c | sed 's/^/  HTTP /'
BAD="$(cat "$WORK"/load/*.code | grep -vc '^200$' || true)"
# Only requests in flight on the killed replica may fail (nginx answers 502 for them; POST is not retried).
NON_LB="$(cat "$WORK"/load/*.code | grep -vc "^\(200\|502\)$" || true)"
[ "$NON_LB" = 0 ] && [ "$BAD" -le 6 ] || { echo "expected only 200s and at most 6 in-flight 502s, got $BAD failures ($NON_LB not 502)"; exit 1; }
mkdir -p "$WORK/load-receipts"
for f in "$WORK"/load/*.h; do
  r="$(grep -i '^warden-receipt:' "$f" | tr -d '\r' | cut -d' ' -f2 || true)"
  [ -z "$r" ] || echo "$r" >"$WORK/load-receipts/$(basename "$f" .h)"
done
echo "$(ls "$WORK/load-receipts" | wc -l) receipts received; checking each against the one log through replica 1"
# One process for all of them: the same check as `warden receipt verify --log` (receipt signature, consistency of
# its checkpoint with the log's latest, inclusion of its leaf, the entry itself).
NODE_EXTRA_CA_CERTS="$WORK/r1/data/ca.pem" WARDEN_ADMIN_KEY="$ADMIN_KEY" node --input-type=module -e "
  import { readdirSync, readFileSync } from 'node:fs';
  const { receiptVerify } = await import('$PWD/dist/src/ledger/receipt-verify.js');
  const dir = process.argv[1];
  for (const f of readdirSync(dir)) {
    const r = await receiptVerify({ receipt: readFileSync(dir + '/' + f, 'utf8'), log: 'https://127.0.0.1:$(adm_port 1)/audit/v1', key: process.argv[2], headers: { authorization: 'Bearer ' + process.env.WARDEN_ADMIN_KEY } });
    if (r.entry === null) throw new Error('entry of request ' + f + ' was not compared');
  }" "$WORK/load-receipts" "$VKEY"
echo "every receipt a client received is in the log"

step "revoke the key through replica 2; through the load balancer it is refused (by the replicas still running)"
admin 2 DELETE "/admin/v1/keys/$KEY_ID" >/dev/null
sleep 1
for n in 1 2 3 4 5 6; do
  code="$(chat)"
  served="$(grep -i '^x-upstream:' "$WORK/chat.h" | tr -d '\r' | cut -d' ' -f2)"
  echo "request $n after revocation: HTTP $code via $served"
  [ "$code" = 401 ] || { echo "expected 401"; cat "$WORK/chat.json"; exit 1; }
done

step "warden audit verify: the one shared log, read through replica 1, checked from scratch against the ledger key"
NODE_EXTRA_CA_CERTS="$WORK/r1/data/ca.pem" WARDEN_ADMIN_KEY="$ADMIN_KEY" $WARDEN audit verify --log https://127.0.0.1:$(adm_port 1)/audit/v1 --key "$VKEY"

step "warden receipt verify: every receipt the load balancer handed out is in that log"
for f in "$WORK"/receipts/*; do
  NODE_EXTRA_CA_CERTS="$WORK/r1/data/ca.pem" WARDEN_ADMIN_KEY="$ADMIN_KEY" $WARDEN receipt verify "$(cat "$f")" --log https://127.0.0.1:$(adm_port 1)/audit/v1 --key "$VKEY" | head -1
done

step "done: three replicas (one killed mid-load), one store, one log"
