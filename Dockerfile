# syntax=docker/dockerfile:1
# One image for every Drason process; the command chooses which (docker-compose.yml, README "Deploying"):
#   node dist/src/workers/api.js       the HTTP API and the operator console (the default)
#   node dist/src/workers/worker.js    the relay and the Temporal worker
#   node dist/src/workers/migrate.js   migrations, as the schema owner (DATABASE_OWNER_URL), then exits
# Configuration comes only from the environment (README "Configuration"); nothing embedded runs in it.

# ---- build: every dependency, TypeScript → dist/, the console → dist/console ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build-console.mjs scripts/
COPY migrations migrations
COPY src src
RUN npm run build && test -f dist/console/index.html && test -f dist/src/workers/api.js

# ---- deps: production dependencies only ----
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
# Owned by root and read-only to the process: the application writes nothing to its own files.
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The unprivileged `node` user (uid 1000) of the base image.
USER node
EXPOSE 3000
# The API's liveness (GET /healthz). Worker and migrate containers disable it (docker-compose.yml); orchestrators
# that route traffic should also probe GET /readyz (Postgres and Temporal both answer).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/workers/api.js"]
