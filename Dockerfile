# The operator image: a static musl build without `dev` (and its emulator)
# on distroless static, as non-root 65532. Not built in CI (no Docker there).
#   docker build -t REGISTRY/integration-operator:TAG .
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools \
    && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --locked --release --target x86_64-unknown-linux-musl \
        -p integration-operator --no-default-features \
    && cp target/x86_64-unknown-linux-musl/release/integration-operator /integration-operator

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /integration-operator /integration-operator
USER 65532:65532
ENTRYPOINT ["/integration-operator"]
CMD ["run"]
