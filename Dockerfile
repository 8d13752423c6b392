# The audit-trail executable for docker-compose.yml: built with the Swift toolchain image, run on
# Debian with librdkafka.
FROM swift:6.3-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends librdkafka-dev libzstd-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN swift build -c release --product audit-trail --static-swift-stdlib

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends librdkafka1 libzstd1 ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/.build/release/audit-trail /usr/local/bin/audit-trail
COPY --from=build /src/.build/release/AuditTrail_AuditModel.resources /usr/local/bin/AuditTrail_AuditModel.resources
ENTRYPOINT ["/usr/local/bin/audit-trail"]
