# syntax=docker/dockerfile:1
# zonekeeper container image.
#   docker build -t zonekeeper:0.1.0 .
#   docker run --read-only --tmpfs /tmp -v zk-state:/var/lib/zonekeeper \
#     -v "$PWD/zonekeeper.yaml:/etc/zonekeeper/zonekeeper.yaml:ro" --env-file zonekeeper.env \
#     -p 9353:9353 zonekeeper:0.1.0
# The build stage runs scripts/build-release.sh, the same script CI runs
# (scripts/ci.d/build-release.sh), so the build commands are tested without a Docker engine.

# ---- build ---------------------------------------------------------------------------------
# Rust version: the toolchain CI uses (Cargo.toml's rust-version is the minimum, 1.89: std File::try_lock for the state-directory lock).
FROM rust:1.95-bookworm AS build
# git2 (https, ssh) links OpenSSL and zlib dynamically; libgit2 and libssh2 are compiled in.
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libssl-dev zlib1g-dev binutils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN ./scripts/build-release.sh /out

# ---- run -----------------------------------------------------------------------------------
FROM debian:bookworm-slim
# Run-time libraries of the binary (ldd: libssl.so.3, libcrypto.so.3, libz.so.1, libgcc_s, libc)
# and CA certificates for https:// repositories and provider APIs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 zonekeeper \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/zonekeeper --no-create-home \
      --shell /usr/sbin/nologin zonekeeper \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/zonekeeper \
 && install -d -m 0755 /etc/zonekeeper
COPY --from=build /out/zonekeeper /usr/local/bin/zonekeeper
# Fail the image build if a shared library is missing, and prove the binary starts.
RUN ! ldd /usr/local/bin/zonekeeper | grep 'not found' && /usr/local/bin/zonekeeper --version

# Read-only root friendly: everything the daemon writes (git cache, audit journal) is under the
# state directory, a volume; set `controller.state_dir: /var/lib/zonekeeper` (or --state-dir).
# /etc/zonekeeper holds zonekeeper.yaml (the `controller:` section), mounted read-only.
VOLUME ["/var/lib/zonekeeper"]
WORKDIR /var/lib/zonekeeper
ENV HOME=/var/lib/zonekeeper
USER 10001:10001
# /metrics, /healthz, /readyz, /status, POST /hooks/git. The daemon listens on 127.0.0.1:9353
# unless the config says `listen: 0.0.0.0:9353` (needed for -p and in Kubernetes).
EXPOSE 9353
# Liveness without curl in the image: bash's /dev/tcp. Kubernetes uses its own probes
# (GET /healthz for liveness, GET /readyz for readiness; deploy/kubernetes/deployment.yaml).
# scripts/ci.d/prometheus-e2e.sh runs this exact command against a live daemon.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${ZONEKEEPER_HEALTH_PORT:-9353} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["zonekeeper"]
CMD ["run", "--config", "/etc/zonekeeper/zonekeeper.yaml", "--log-format", "json", "-v"]
