# syntax=docker/dockerfile:1
# reactor-server and reactor-loadgen in one small image.
#   docker build --build-arg REACTOR_BUILD_COMMIT="$(git rev-parse --short=12 HEAD)" -t reactor .
#   docker run --rm -p 7000:7000/tcp -p 7000:7000/udp -p 8080:8080 reactor
# The server is the entrypoint; the load generator is in the same image:
#   docker run --rm --entrypoint reactor-loadgen reactor tcp HOST:7000 -d 10s
# or, configured only through LOADGEN_* variables (see deploy/loadgen-run.sh):
#   docker run --rm --entrypoint loadgen-run -e LOADGEN_TARGET=HOST:7000 reactor

# ---- build -------------------------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# The whole workspace is needed for cargo to load it (benches/ is a member); .dockerignore keeps
# target/ and .git out. Cache mounts keep the registry and target/ between builds, so the
# binaries are copied out of target/ inside the same RUN.
COPY . .
# .git is not in the context: the commit that `--version` names comes in as a build argument.
ARG REACTOR_BUILD_COMMIT=unknown
ENV REACTOR_BUILD_COMMIT=${REACTOR_BUILD_COMMIT}
# Man pages and shell completions are generated from the binaries' own flag definitions.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p reactor-server -p reactor-loadgen \
    && mkdir -p /out/bin \
    && cp target/release/reactor-server target/release/reactor-loadgen /out/bin/ \
    && scripts/install-docs.sh /out/bin /out

# ---- runtime -----------------------------------------------------------------------------
# bookworm-slim, like the builder (same glibc), and it has /bin/sh for the HEALTHCHECK's
# ${PORT} and for loadgen-run. No curl: the server checks itself (--health-check).
FROM debian:bookworm-slim AS runtime
COPY --from=build /out/bin/reactor-server /out/bin/reactor-loadgen /usr/local/bin/
COPY --from=build /out/share /usr/local/share/
COPY --chmod=0755 deploy/loadgen-run.sh /usr/local/bin/loadgen-run
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

# Exec form running /bin/sh explicitly: ${PORT} is expanded when the check runs, so a container
# started with another PORT is still checked on the right port. (A distroless image has no
# shell: there the check would have to be ["reactor-server", "--health-check", "127.0.0.1:8080"]
# with the port fixed.) --health-check exits 0 only on a 200 from GET /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/bin/sh", "-c", "exec reactor-server --health-check \"127.0.0.1:${PORT:-8080}\""]

# Exec form: the server is PID 1 and gets SIGTERM itself (it exits 0 after draining).
# Logs go to stderr, the `listening ...` lines to stdout.
ENTRYPOINT ["reactor-server"]
