# syntax=docker/dockerfile:1
#
# clinic-finder container image.
#
#   docker build -t clinic-finder .
#   docker run --rm -p 8080:8080 -v clinic-finder-data:/app/data clinic-finder serve --demo
#   docker run --rm -p 8080:8080 -e CLINIC_FINDER_DATABASE_URL='postgres://user:pass@db:5432/clinics?sslmode=require' clinic-finder
#
# SQLite and libpq are bundled (built from source), so the build needs only a C
# compiler and OpenSSL's headers (libpq speaks TLS to managed PostgreSQL), and the
# runtime only OpenSSL and the CA certificates.

############################ builder ############################
FROM rust:1.95-slim-bookworm AS builder

WORKDIR /build

# Versions come from the pinned Debian release of the base image.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

# Smaller binary; no external strip tool needed.
ENV CARGO_PROFILE_RELEASE_STRIP=symbols

# Dependency-caching layer: build every dependency against placeholder sources
# so this layer is reused until Cargo.toml or Cargo.lock changes.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && : > src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src

# The real sources. Migrations and the geographic data in assets/ are embedded
# in the binary at compile time; the runtime image needs only the binary.
COPY src ./src
COPY migrations ./migrations
COPY assets ./assets
COPY openapi ./openapi
# COPY keeps the files' own mtimes, which may be older than the placeholder
# build; touch the crate roots so cargo rebuilds the crate itself.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && install -D -m 0755 target/release/clinic-finder /out/clinic-finder

############################ runtime ############################
FROM debian:bookworm-slim AS runtime

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/*

# Fixed, unprivileged UID/GID so a mounted data volume can be chowned predictably.
RUN groupadd --system --gid 10001 clinic \
    && useradd --system --no-log-init --uid 10001 --gid 10001 \
        --home-dir /app --no-create-home --shell /usr/sbin/nologin clinic \
    && mkdir -p /app/data \
    && chown 10001:10001 /app/data

WORKDIR /app

COPY --from=builder /out/clinic-finder /usr/local/bin/clinic-finder

ENV CLINIC_FINDER_BIND=0.0.0.0:8080 \
    CLINIC_FINDER_DATABASE_URL=/app/data/clinic-finder.sqlite3

# The SQLite database lives here; mount a named volume or host directory to keep it.
VOLUME ["/app/data"]

USER 10001:10001

EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/clinic-finder", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/clinic-finder"]
CMD ["serve"]
