# Build: the release binary, with the migrations, seeds and Swagger UI compiled in.
FROM rust:1-bookworm AS builder
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY . .
RUN cargo build --release --locked

# Run: the binary and libpq only. There is no PostgreSQL server in this image, so set DATABASE_URL.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /home/citytools --shell /usr/sbin/nologin citytools
COPY --from=builder /build/target/release/citytools /usr/local/bin/citytools
USER citytools
WORKDIR /home/citytools
ENV CITYTOOLS_BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["citytools"]
CMD ["serve"]
