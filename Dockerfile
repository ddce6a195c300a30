# syntax=docker/dockerfile:1
# One image for every role: the subcommand picks it (api, worker, migrate,
# mock-gateway, keys, dev). Build: docker build -t asynccheckout .

# Dependencies are planned and built in their own layers (cargo-chef), so a
# change to our code rebuilds only our crates.
FROM rust:1.95-bookworm AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
ENV SQLX_OFFLINE=true
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin asynccheckout
COPY . .
RUN cargo build --release --locked --bin asynccheckout

# Distroless: glibc and nothing else, running as an unprivileged user. TLS
# roots are compiled into the binary (rustls with webpki roots).
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=build /src/target/release/asynccheckout /usr/local/bin/asynccheckout
USER nonroot:nonroot
ENV LOG_FORMAT=json
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/asynccheckout"]
CMD ["api"]
