# syntax=docker/dockerfile:1
# reactor-server and reactor-loadgen in one small image.
#   docker build -t reactor .
#   docker run --rm -p 7000:7000/tcp -p 7000:7000/udp -p 8080:8080 reactor
# The server is the entrypoint; the load generator is in the same image:
#   docker run --rm --entrypoint reactor-loadgen reactor tcp HOST:7000 -d 10s
# or, configured only through LOADGEN_* variables (see deploy/loadgen-run.sh):
#   docker run --rm --entrypoint loadgen-run -e LOADGEN_RUN_ID=t1 -e LOADGEN_TARGET=HOST:7000 reactor
# With podman, add `--format docker` to the build: the OCI image format has no HEALTHCHECK.
#
# The base images are build arguments so that a machine without a registry can build from
# local ones (scripts/container-test.sh makes them with debootstrap); the defaults are the
# public images.
ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build -------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS build
WORKDIR /src
# The whole workspace is needed for cargo to load it (designs/ is a member); .dockerignore keeps
# target/ out, and of .git only HEAD and the refs. Cache mounts keep the registry and target/
# between builds, so the binaries are copied out of target/ inside the same RUN.
COPY . .
# The commit `--version` names: the build argument when given, else HEAD read from .git by
# deploy/build-commit.sh (the stage has no git), else "unknown".
ARG REACTOR_BUILD_COMMIT=
# Man pages and shell completions are generated from the binaries' own flag definitions.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    REACTOR_BUILD_COMMIT="$(sh deploy/build-commit.sh)" \
    && export REACTOR_BUILD_COMMIT \
    && cargo build --release --locked -p reactor-server -p reactor-loadgen \
    && mkdir -p /out/bin \
    && cp target/release/reactor-server target/release/reactor-loadgen /out/bin/ \
    && scripts/install-docs.sh /out/bin /out

# ---- runtime -----------------------------------------------------------------------------
# bookworm-slim, like the builder (same glibc), and it has bash for the HEALTHCHECK and
# /bin/sh for loadgen-run. No curl: the server checks itself (--health-check).
FROM ${RUNTIME_IMAGE} AS runtime
COPY --from=build /out/bin/reactor-server /out/bin/reactor-loadgen /usr/local/bin/
COPY --from=build /out/share /usr/local/share/
COPY --chmod=0755 deploy/loadgen-run.sh /usr/local/bin/loadgen-run
COPY --chmod=0755 deploy/healthcheck.sh /usr/local/bin/reactor-healthcheck
COPY LICENSE-MIT LICENSE-APACHE /usr/local/share/doc/reactor/
# A fixed numeric uid/gid so Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 reactor \
    && useradd --system --uid 10001 --gid reactor --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin reactor \
    && mkdir -p /results \
    && chown reactor:reactor /results
USER 10001:10001
WORKDIR /results

# Containers listen on every interface; PORT is the HTTP port (the cloud convention), the
# echo listeners stay on 7000. Everything else: the REACTOR_* variables (--help lists them).
ENV HOST=0.0.0.0 \
    PORT=8080 \
    REACTOR_LOG_FORMAT=text
EXPOSE 7000/tcp 7000/udp 8080/tcp

# reactor-healthcheck (deploy/healthcheck.sh) probes whichever listener the environment
# configures: GET /healthz on the HTTP listener ($REACTOR_HTTP, else $PORT when no listener is
# named), else a TCP or UDP echo round trip, so an echo-only container turns healthy too.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["reactor-healthcheck"]

# Exec form: the server is PID 1 and gets SIGTERM itself (it exits 0 after draining).
# Logs go to stderr, the `listening ...` lines to stdout.
ENTRYPOINT ["reactor-server"]
