# syntax=docker/dockerfile:1
# The project's Node.js images, one target each (make kind-up builds them from cdk8s/src/images.ts):
#   docker build --target consumer -t clinical-ingest/consumer:dev .          Kafka → identity resolution → stores
#   docker build --target loadgen  -t clinical-ingest/loadgen:dev .           load generator and the seed's validation
#   docker build --target operator -t clinical-ingest/ingest-operator:dev .   IngestPipeline operator (consumers to lag)
# (The DynamoDB-API image has its own file: platform/dynalite/Dockerfile.)
#
# Stages: manifests (the workspace manifests) → build (the steps CI runs: make install is npm ci,
# make build is npx tsc -b; built once, shared by every target) and <component>-deps (that
# component's production dependencies only) → runtime (the distroless base every target starts
# from: no shell, no package manager, uid 1000, never root) → consumer | loadgen | operator.
# BuildKit builds only the stages the chosen target needs.
ARG NODE_IMAGE=node:22-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs22-debian12:nonroot

# Workspace manifests only: the install layers stay cached until a dependency changes.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY intake-core/package.json intake-core/
COPY consumer/package.json consumer/
COPY loadgen/package.json loadgen/
COPY operator/package.json operator/
COPY scaling-sim/package.json scaling-sim/
COPY testkit/package.json testkit/
COPY cdk8s/package.json cdk8s/
# Fixes to dependencies, applied by npm ci's postinstall (patch-package): see patches/README.md.
COPY patches/ patches/

# Every workspace installed and compiled, exactly as CI does (make install, make build).
FROM manifests AS build
RUN npm ci --no-audit --no-fund
COPY intake-core/ intake-core/
COPY consumer/ consumer/
COPY loadgen/ loadgen/
COPY operator/ operator/
COPY scaling-sim/ scaling-sim/
COPY testkit/ testkit/
COPY cdk8s/ cdk8s/
RUN npx tsc -b

# Production dependencies, one stage per component (a target cannot pick a build arg's value, so
# each target copies node_modules from its own stage; npm resolves its workspaces' dependencies).
FROM manifests AS consumer-deps
RUN npm ci --omit=dev --no-audit --no-fund --workspace consumer

FROM manifests AS loadgen-deps
RUN npm ci --omit=dev --no-audit --no-fund --workspace loadgen

FROM manifests AS operator-deps
RUN npm ci --omit=dev --no-audit --no-fund --workspace operator

# The base of every target: distroless Node.js, the root manifest and intake-core (every component
# depends on it), run as uid 1000 with no shell entrypoint.
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production PATH=/nodejs/bin:/usr/local/bin:/usr/bin:/bin
COPY --from=build /app/package.json ./
COPY --from=build /app/intake-core/package.json intake-core/
COPY --from=build /app/intake-core/dist intake-core/dist
USER 1000:1000
ENTRYPOINT []

# The consumer (/metrics, /healthz, /readyz on 9464).
FROM runtime AS consumer
COPY --from=consumer-deps /app/node_modules node_modules
COPY --from=build /app/consumer/package.json consumer/
COPY --from=build /app/consumer/dist consumer/dist
EXPOSE 9464
CMD ["node", "consumer/dist/main.js"]

# The load generator; it imports @clinical-ingest/consumer, so consumer's dist comes too.
FROM runtime AS loadgen
COPY --from=loadgen-deps /app/node_modules node_modules
COPY --from=build /app/consumer/package.json consumer/
COPY --from=build /app/consumer/dist consumer/dist
COPY --from=build /app/loadgen/package.json loadgen/
COPY --from=build /app/loadgen/dist loadgen/dist
CMD ["node", "loadgen/dist/cli.js"]

# The operator (the external metrics API on 6443, health on 8080).
FROM runtime AS operator
COPY --from=operator-deps /app/node_modules node_modules
COPY --from=build /app/operator/package.json operator/
COPY --from=build /app/operator/dist operator/dist
EXPOSE 6443 8080
CMD ["node", "operator/dist/main.js"]
