# Kefu self-hosted in a container: `kefu serve` on port 8080, its records in SQLite and the files
# sent in chats on the volume /var/lib/kefu (or KEFU_DATABASE_URL=mysql://… for MySQL/MariaDB).
#
#   docker build -t kefu .
#   docker run -d --name kefu -p 8080:8080 -v kefu-data:/var/lib/kefu kefu
#   docker logs kefu        # the demo owner's password, printed once on the first start
#   docker exec -it kefu kefu tenant create --name "Acme"
#
# docker stop sends SIGTERM: clients are told to reconnect and what the rooms hold is stored first.

FROM rust:1.95.0-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p origin-api --bin kefu

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --user-group --home-dir /var/lib/kefu --create-home --shell /usr/sbin/nologin kefu
COPY --from=build /src/target/release/kefu /usr/local/bin/kefu
ENV KEFU_LISTEN=0.0.0.0:8080 \
    KEFU_DATABASE_URL=sqlite:/var/lib/kefu/kefu.db \
    KEFU_DATA_DIR=/var/lib/kefu \
    KEFU_LOG_FORMAT=json
USER kefu
WORKDIR /var/lib/kefu
VOLUME ["/var/lib/kefu"]
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["kefu", "healthcheck"]
ENTRYPOINT ["kefu"]
CMD ["serve"]
