# One Dockerfile for every Stampede image; pick one with --target:
#   api     an API replica (Hono on Node)
#   worker  the purchase worker
#   tools   the lab workspace's CLIs: migrate and seed (the compose one-shot), reconcile, logs
# Build from the repository root: docker build --target api .

# --- build: every dependency (TypeScript included), compile every workspace ----------------
FROM node:20-alpine AS build
WORKDIR /app
# Manifests first, so the npm layer is cached until a dependency changes. npm ci needs
# every workspace's package.json, as the lockfile lists them all.
COPY package.json package-lock.json ./
COPY core/package.json core/
COPY api/package.json api/
COPY worker/package.json worker/
COPY lab/package.json lab/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY core core
COPY api api
COPY worker worker
COPY lab lab
RUN npx tsc -b

# --- runtime base: Node and the manifests; each target installs its own production deps ---
FROM node:20-alpine AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY core/package.json core/
COPY api/package.json api/
COPY worker/package.json worker/
COPY lab/package.json lab/
COPY core/migrations core/migrations

FROM runtime AS api
RUN npm ci --omit=dev -w @stampede/api -w @stampede/core --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/core/dist core/dist
COPY --from=build /app/api/dist api/dist
USER node
EXPOSE 3000
# node itself is PID 1's command (not npm), so SIGTERM reaches the app's graceful shutdown.
CMD ["node", "api/dist/main.js"]

FROM runtime AS worker
RUN npm ci --omit=dev -w @stampede/worker -w @stampede/core --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/core/dist core/dist
COPY --from=build /app/worker/dist worker/dist
USER node
# /metrics and /health/live (WORKER_METRICS_PORT)
EXPOSE 9100
CMD ["node", "worker/dist/main.js"]

FROM runtime AS tools
RUN npm ci --omit=dev -w @stampede/lab -w @stampede/core --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/core/dist core/dist
COPY --from=build /app/lab/dist lab/dist
USER node
# The compose one-shot: the schema and the demo concert (idempotent).
CMD ["node", "lab/dist/cli/migrate.js", "--seed"]
