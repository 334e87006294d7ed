# Berth's TypeScript services, one Dockerfile, one target each:
#
#   docker build --target hub          -t berth/hub:dev          .
#   docker build --target proxy        -t berth/proxy:dev        .
#   docker build --target docker-guard -t berth/docker-guard:dev .   (the Docker API guard and the firewall)
#
# By default it builds FROM the official node:22-bookworm-slim image. Without a container registry,
# build the offline images first (bash images/build-offline.sh) and pass
#
#   --build-arg NODE_BUILD_IMAGE=berth/node:22-build --build-arg NODE_IMAGE=berth/node:22
#
# NODE_BUILD_IMAGE needs node 22 + npm (build stages only); NODE_IMAGE needs only node 22 (runtime).
# No `# syntax=` line on purpose: works with the legacy builder and with BuildKit without pulling a frontend.
ARG NODE_BUILD_IMAGE=node:22-bookworm-slim
ARG NODE_IMAGE=node:22-bookworm-slim

# ---------------------------------------------------------------- build: compile TypeScript
FROM ${NODE_BUILD_IMAGE} AS build
WORKDIR /app
ENV NODE_ENV=development \
    npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json tsconfig.base.json ./
COPY services/hub/package.json services/hub/
COPY services/proxy/package.json services/proxy/
COPY services/docker-guard/package.json services/docker-guard/
# All of the lockfile but optional deps (biome's native binary) and install scripts: only tsc and the
# type packages matter here.
RUN npm ci --ignore-scripts --omit=optional --loglevel=error
COPY services/hub/tsconfig.json services/hub/tsconfig.build.json services/hub/
COPY services/proxy/tsconfig.json services/proxy/tsconfig.build.json services/proxy/
COPY services/docker-guard/tsconfig.json services/docker-guard/tsconfig.build.json services/docker-guard/
COPY services/hub/src services/hub/src
COPY services/proxy/src services/proxy/src
COPY services/docker-guard/src services/docker-guard/src
RUN npx --no-install tsc -p services/proxy/tsconfig.build.json \
 && npx --no-install tsc -p services/hub/tsconfig.build.json \
 && npx --no-install tsc -p services/docker-guard/tsconfig.build.json \
 && test -f services/hub/dist/main.js && test -f services/proxy/dist/main.js \
 && test -f services/docker-guard/dist/main.js

# ---------------------------------------------------------------- production dependencies, per service
FROM ${NODE_BUILD_IMAGE} AS hub-deps
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
COPY services/hub/package.json services/hub/
COPY services/proxy/package.json services/proxy/
COPY services/docker-guard/package.json services/docker-guard/
RUN npm ci --omit=dev --ignore-scripts --workspace services/hub --loglevel=error \
 && mkdir -p services/hub/node_modules

FROM ${NODE_BUILD_IMAGE} AS proxy-deps
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
COPY services/hub/package.json services/hub/
COPY services/proxy/package.json services/proxy/
COPY services/docker-guard/package.json services/docker-guard/
RUN npm ci --omit=dev --ignore-scripts --workspace services/proxy --loglevel=error \
 && mkdir -p services/proxy/node_modules

FROM ${NODE_BUILD_IMAGE} AS docker-guard-deps
WORKDIR /app
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
COPY services/hub/package.json services/hub/
COPY services/proxy/package.json services/proxy/
COPY services/docker-guard/package.json services/docker-guard/
RUN npm ci --omit=dev --ignore-scripts --workspace services/docker-guard --loglevel=error \
 && mkdir -p services/docker-guard/node_modules

# ---------------------------------------------------------------- runtime base
FROM ${NODE_IMAGE} AS runtime
# uid/gid 1000 become `berth` (the official image calls that user `node`; so does berth/node:22).
RUN set -eu; \
    u="$(getent passwd 1000 | cut -d: -f1)"; if [ -n "$u" ]; then userdel "$u"; rm -rf "/home/$u"; fi; \
    g="$(getent group 1000 | cut -d: -f1)"; if [ -n "$g" ]; then groupdel "$g"; fi; \
    groupadd --gid 1000 berth; \
    useradd --uid 1000 --gid 1000 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin berth
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
# Everything under /app stays root-owned and read-only for the service user; nothing is written at
# run time, so the containers run fine with a read-only root filesystem.
# No npm, no shell tricks: the official image's docker-entrypoint.sh is reset.
ENTRYPOINT []

# ---------------------------------------------------------------- hub
FROM runtime AS hub
COPY --from=hub-deps /app/node_modules /app/node_modules
COPY --from=hub-deps /app/services/hub/node_modules /app/services/hub/node_modules
COPY services/hub/package.json /app/services/hub/
COPY --from=build /app/services/hub/dist /app/services/hub/dist
RUN printf '%s\n' '#!/bin/sh' 'exec node /app/services/hub/dist/cli/main.js "$@"' >/usr/local/bin/berth \
 && chmod 0755 /usr/local/bin/berth
LABEL org.opencontainers.image.title="berth-hub" \
      org.opencontainers.image.description="Berth hub (JupyterHub-compatible, TypeScript)" \
      org.opencontainers.image.licenses="BSD-3-Clause"
USER 1000:1000
EXPOSE 8081
# Two malloc arenas instead of 8 per core: the hub's native allocations (sockets, TLS, libuv threads) fragment less,
# about 5-10 MB less resident memory under API load, no measurable cost in throughput (docs/benchmarks.md).
ENV MALLOC_ARENA_MAX=2
# A 2 MB young generation (V8's default grows to 16 MB per semi-space): the hub's requests allocate little. And
# the old generation may grow to 1.3x what survived the last full collection before the next one (V8 otherwise
# lets it reach up to 4x under load, with garbage): under API load with 10,000 users the hub stays near 115 MB
# instead of 200 MB, for about 10% more CPU per request (docs/benchmarks.md).
CMD ["node", "--max-semi-space-size=2", "--heap-growing-percent=30", "/app/services/hub/dist/main.js"]

# ---------------------------------------------------------------- proxy
FROM runtime AS proxy
COPY --from=proxy-deps /app/node_modules /app/node_modules
COPY --from=proxy-deps /app/services/proxy/node_modules /app/services/proxy/node_modules
COPY services/proxy/package.json /app/services/proxy/
COPY --from=build /app/services/proxy/dist /app/services/proxy/dist
LABEL org.opencontainers.image.title="berth-proxy" \
      org.opencontainers.image.description="Berth proxy (http-proxy-3 with configurable-http-proxy's REST API)" \
      org.opencontainers.image.licenses="BSD-3-Clause"
USER 1000:1000
EXPOSE 8000 8001
CMD ["node", "/app/services/proxy/dist/main.js"]

# ---------------------------------------------------------------- docker-guard
# Two programs: the Docker API guard (the only service with the Docker socket) and `berth-firewall`, the
# one-shot that installs the host's egress rules (host network, NET_ADMIN). iptables is Debian's, the nft
# backend, like the host's Docker on bookworm.
FROM runtime AS docker-guard
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iptables >/dev/null \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o 1000 -g 1000 -m 0700 /run/berth/docker-guard
COPY --from=docker-guard-deps /app/node_modules /app/node_modules
COPY --from=docker-guard-deps /app/services/docker-guard/node_modules /app/services/docker-guard/node_modules
COPY services/docker-guard/package.json /app/services/docker-guard/
COPY --from=build /app/services/docker-guard/dist /app/services/docker-guard/dist
LABEL org.opencontainers.image.title="berth-docker-guard" \
      org.opencontainers.image.description="Berth's Docker API guard and host firewall installer" \
      org.opencontainers.image.licenses="BSD-3-Clause"
USER 1000:1000
CMD ["node", "/app/services/docker-guard/dist/main.js"]
