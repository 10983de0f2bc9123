# The fhe-llm relay. No build step: Node 24 runs the TypeScript sources
# directly (type stripping), so the image holds the workspace's sources, the
# bundled model and the production node_modules.
#
#   docker build -t fhe-llm-relay .
#   docker run --rm --read-only -p 127.0.0.1:8080:8080 fhe-llm-relay
#
# Without a Docker engine: scripts/container-smoke.sh (buildah + podman).

ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: production dependencies only ---------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV NODE_ENV=production \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false
# Manifests first, so the dependency layer is reused while only sources change.
# Every workspace listed in package.json needs its package.json here.
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/sdk/package.json packages/sdk/
COPY packages/relay/package.json packages/relay/
COPY examples/demo/package.json examples/demo/
# --omit=dev: the `node` devDependency (a Node binary for dev machines) is not
# installed; the base image has Node 24. No runtime dependency has install
# scripts, so --ignore-scripts costs nothing and runs no third-party code.
# Optional build secret `npm_cafile`: extra CA certificates for a TLS-
# intercepting egress proxy (`--secret id=npm_cafile,src=/path/ca.crt`);
# it is mounted for this step only and never lands in a layer.
RUN --mount=type=secret,id=npm_cafile \
    if [ -s /run/secrets/npm_cafile ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_cafile; fi \
 && npm ci --omit=dev --ignore-scripts \
 && npm cache clean --force \
 && rm -rf /root/.npm /tmp/*
# .dockerignore lets through only package sources (no tests), bins and models.
COPY packages/ packages/
COPY models/ models/
COPY scripts/ scripts/

# --- runtime ---------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# Non-root, fixed uid/gid so Kubernetes runAsUser/fsGroup can match it.
RUN groupadd --gid 10001 fhe \
 && useradd --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin fhe
WORKDIR /app
# Owned by root and read-only to the relay; nothing is written outside /tmp,
# so the container runs with a read-only root filesystem.
COPY --from=build /app /app
# NODE_OPTIONS: run the packages' TypeScript sources (scripts/source-condition.ts).
# The port: FHE_LLM_PORT, else PORT (set by container platforms), else 8080.
ENV NODE_ENV=production \
    HOME=/tmp \
    FHE_LLM_HOST=0.0.0.0 \
    NODE_OPTIONS=--conditions=fhe-llm-source
USER 10001:10001
EXPOSE 8080
# Ready = models calibrated, pre-encoded and workers up (slim has no curl).
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.FHE_LLM_PORT || process.env.PORT || 8080) + '/readyz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1; the relay drains in-flight requests on SIGTERM.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "packages/relay/bin/fhe-llm-relay.js"]
