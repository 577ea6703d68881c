# Warden's container image. Build: docker build -t warden .   Run: see docs/deploy.md (and deploy/k8s).
# Everything comes from the lockfile (npm ci); native modules (better-sqlite3, pkcs11js, cbor-extract) are
# compiled against the image's own Node headers, so nothing is downloaded besides the locked packages.

# 1. Compile the TypeScript (dev dependencies only live in this stage).
FROM node:20-bookworm AS build
WORKDIR /app
ENV npm_config_nodedir=/usr/local npm_config_build_from_source=true
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY test ./test
COPY bench ./bench
COPY console ./console
COPY scripts/build-console.mjs ./scripts/build-console.mjs
RUN npm ci --ignore-scripts && npx tsc -p tsconfig.json && node scripts/build-console.mjs

# 2. Production dependencies only, native modules built here (the runtime image has no compiler).
FROM node:20-bookworm AS deps
WORKDIR /app
ENV npm_config_nodedir=/usr/local npm_config_build_from_source=true
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm rebuild better-sqlite3 pkcs11js cbor-extract && npm cache clean --force

# 3. The runtime: no build tools, no shell needed by Warden itself, a non-root user, nothing writable but the volumes.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/console ./dist/console
COPY package.json ./
COPY bin ./bin
COPY policies ./policies
COPY proto ./proto
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
RUN groupadd --system --gid 10001 warden \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin warden \
 && mkdir -p /var/lib/warden /etc/warden \
 && chown 10001:10001 /var/lib/warden && chmod 0700 /var/lib/warden
# Numeric, so that runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
# The data dir (keys, SQLite, ledger) and the config: mounts, so the root filesystem can be read-only.
VOLUME ["/var/lib/warden", "/etc/warden"]
EXPOSE 8443 9443
# SIGTERM drains: /readyz turns 503, requests and streams finish (shutdown.drainTimeoutMs), the ledger flushes.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["node", "/app/scripts/healthcheck.mjs"]
ENTRYPOINT ["node", "/app/bin/warden.js"]
CMD ["up", "--config", "/etc/warden/warden.yaml", "--data-dir", "/var/lib/warden"]
