# One Dockerfile for every Stampede image; pick one with --target:
#   api     an API replica (Hono on Node)
#   worker  the purchase worker
#   tools   the lab workspace's CLIs: migrate and seed (the compose one-shot), reconcile, logs
# Build from the repository root: docker build --target api .

# --- manifests: what npm ci reads, the first layers of the build and of the images -------
# npm ci needs every workspace's package.json, as the lockfile lists them all.
FROM node:24-alpine AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY core/package.json core/
COPY api/package.json api/
COPY worker/package.json worker/
COPY lab/package.json lab/
# npm ci's postinstall applies them (patch-package): fixes of dependencies not yet released.
COPY patches patches

# --- build: every dependency (TypeScript included), compile every workspace ----------------
# Manifests first, so the npm layer is cached until a dependency changes.
FROM manifests AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY core core
COPY api api
COPY worker worker
COPY lab lab
RUN npx tsc -b

# --- images: the tree of each target, made by one loop so the targets cannot drift apart --
# A tree holds every manifest, core's code and migrations, and the one workspace of its
# image with only its production dependencies: the API image carries no worker, no
# tooling and no TypeScript.
FROM manifests AS images
ENV NODE_ENV=production
# Dependencies before code, so this layer too is cached until a dependency changes.
# patch-package is a dev dependency, so these installs skip the postinstall and take the
# patched packages from the build stage instead.
COPY --from=build /app/node_modules/postgres /patched/postgres
RUN set -e; for ws in api worker lab; do \
      mkdir -p "/images/$ws"; \
      tar -cf - package.json package-lock.json ./*/package.json | tar -xf - -C "/images/$ws"; \
      (cd "/images/$ws" && npm ci --omit=dev --ignore-scripts -w "@stampede/$ws" -w @stampede/core --no-audit --no-fund); \
      rm -rf "/images/$ws/node_modules/postgres" && cp -r /patched/postgres "/images/$ws/node_modules/postgres"; \
    done; \
    npm cache clean --force
COPY core/migrations core/migrations
COPY --from=build /app/core/dist core/dist
COPY --from=build /app/api/dist api/dist
COPY --from=build /app/worker/dist worker/dist
COPY --from=build /app/lab/dist lab/dist
RUN set -e; for ws in api worker lab; do \
      tar -cf - core/dist core/migrations "$ws/dist" | tar -xf - -C "/images/$ws"; \
    done

# --- the targets: Node in production mode, not root, and the tree of the image ------------
FROM node:24-alpine AS runtime
ENV NODE_ENV=production
WORKDIR /app
USER node

FROM runtime AS api
COPY --from=images /images/api ./
EXPOSE 3000
# node itself is PID 1's command (not npm), so SIGTERM reaches the app's graceful shutdown.
CMD ["node", "api/dist/main.js"]

FROM runtime AS worker
COPY --from=images /images/worker ./
# /metrics and /health/live (WORKER_METRICS_PORT)
EXPOSE 9100
CMD ["node", "worker/dist/main.js"]

FROM runtime AS tools
COPY --from=images /images/lab ./
# The compose one-shot: the schema and the demo concert (idempotent).
CMD ["node", "lab/dist/cli/migrate.js", "--seed"]
