// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import Foundation
public import Hummingbird

/// `audit-trail serve`: the trail over HTTP (DESIGN §10), as a Hummingbird application that
/// links no Kafka.
///
/// Routes:
/// - Hermes' v1 API: `GET /v1/events`, `GET /v1/events/{id}`, `GET /v1/attributes/{name}`;
/// - AuditTrail's pair view: `GET /v1/calls`, `GET /v1/calls/{id}`;
/// - `GET /healthz`, `GET /metrics` (Prometheus, unauthenticated like `/healthz`), and
///   `GET /openapi.json`, the OpenAPI 3 document of all of them;
/// - the web page at `/ui/` (``WebPage``), a browser front end to `/v1/calls`.
///
/// Every `/v1` read is scoped by the caller's token (a ``TokenValidator`` and the ``Policy``):
/// the scope is part of each store query, never a filter on a page.
public struct ReadServer: Sendable {
    /// What the server serves and how.
    public struct Configuration: Sendable {
        /// The data directory of the store.
        public var data: String
        /// The backend that validates callers' tokens.
        public var validator: any TokenValidator
        /// Who reads every project.
        public var policy: Policy
        /// Address to bind.
        public var host: String
        /// Port to bind.
        public var port: Int
        /// Correlation window in µs: a single half older than this is an orphan.
        public var window: Int64
        /// The metrics `GET /metrics` renders.
        public var metrics = ServerMetrics()

        /// A configuration; the port is Hermes' (8788), the window the command line's (900 s).
        public init(
            data: String, validator: any TokenValidator, policy: Policy = Policy(), host: String = "127.0.0.1",
            port: Int = 8788, window: Int64 = 900_000_000
        ) {
            self.data = data
            self.validator = validator
            self.policy = policy
            self.host = host
            self.port = port
            self.window = window
        }
    }

    /// The configuration.
    public let configuration: Configuration

    /// A server with `configuration`.
    public init(configuration: Configuration) { self.configuration = configuration }

    /// The OpenAPI document, as shipped in the module's resources.
    public static func openAPIDocument() -> [UInt8]? {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json") else { return nil }
        return (try? Data(contentsOf: url)).map { Array($0) }
    }

    /// The router with every route.
    public func router() -> Router<BasicRequestContext> {
        let source = StoreSource(directory: configuration.data, window: configuration.window, metrics: configuration.metrics)
        let access = Access(validator: configuration.validator, policy: configuration.policy)
        let events = EventsAPI(source: source)
        let calls = CallsAPI(source: source)
        let openAPI = Self.openAPIDocument()
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: configuration.metrics))
        router.get("/metrics") { [metrics = configuration.metrics] _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
        router.get("/healthz") { _, _ in JSON.response("{\"status\": \"ok\"}") }
        router.get("/openapi.json") { _, _ -> Response in
            guard let openAPI else { throw HTTPError(.internalServerError, message: "the OpenAPI document is missing") }
            return JSON.response(String(decoding: openAPI, as: UTF8.self))
        }
        router.get("/v1/events") { request, _ in
            try await events.list(request, visibility: access.visibility(of: request, now: StoreSource.now()))
        }
        router.get("/v1/events/{id}") { request, context in
            let visibility = try await access.visibility(of: request, now: StoreSource.now())
            return try await events.event(try context.parameters.require("id"), visibility: visibility)
        }
        router.get("/v1/attributes/{name}") { request, context in
            let visibility = try await access.visibility(of: request, now: StoreSource.now())
            return try await events.attributes(try context.parameters.require("name"), request, visibility: visibility)
        }
        router.get("/v1/calls") { request, _ in
            try await calls.list(request, visibility: access.visibility(of: request, now: StoreSource.now()))
        }
        router.get("/v1/calls/{id}") { request, context in
            let visibility = try await access.visibility(of: request, now: StoreSource.now())
            return try await calls.call(try context.parameters.require("id"), visibility: visibility)
        }
        WebPage().addRoutes(to: router)
        return router
    }

    /// The application: ``router()`` bound to the configured address.
    public func application() -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "audit-trail"))
    }
}
