// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import HTTPTypes
public import Hummingbird
public import Prometheus

/// The read server's metrics, in a Prometheus registry the server renders at `GET /metrics`.
///
/// Collectors are made on the registry itself rather than through swift-metrics' global
/// factory: the server has dynamic labels (route and status), wants HELP lines without the
/// worker's factory (which lives in a module that links Kafka), and a test gives each server a
/// registry of its own. The registry returns the existing collector for a known name and label
/// set, so a request costs one lookup per metric.
///
/// Routes are labelled by their template (`/v1/events/{id}`), never the path asked for, so an
/// id cannot make a series of its own. A path no route matches is answered (404) by the router
/// before any middleware runs, so it is not counted.
public struct ServerMetrics: Sendable {
    /// Where the metrics live.
    public let registry: PrometheusCollectorRegistry

    /// HELP text by metric name.
    public static let descriptions = [
        "audit_http_requests_total": "HTTP requests answered, by route template, method and status.",
        "audit_http_request_duration_seconds": "Time to answer an HTTP request, by route template.",
        "audit_http_auth_failures_total":
            "Requests refused for their token: 401 (missing, unknown, expired) or 403 (no role, not allowed).",
        "audit_store_query_duration_seconds":
            "Time a request spent reading the store, by query (calls, call, events, event, attributes).",
        "audit_pair_views_total":
            "Pair views a request read: kept (the store and its pending calls unchanged since one was built) or built.",
    ]

    /// Histogram buckets: a filtered page of a large store takes tens of milliseconds, a lookup by id one.
    public static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
        .seconds(10),
    ]

    /// Metrics in `registry` (a new one by default).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// The registry in Prometheus' text format.
    public func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Counts one answered request.
    func requestAnswered(route: String, method: String, status: Int, duration: Duration) {
        registry.makeCounter(
            descriptor: Self.descriptor("audit_http_requests_total"),
            labels: [("route", route), ("method", method), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.descriptor("audit_http_request_duration_seconds"), labels: [("route", route)],
            buckets: Self.durationBuckets
        ).record(duration)
        if status == 401 || status == 403 {
            registry.makeCounter(
                descriptor: Self.descriptor("audit_http_auth_failures_total"), labels: [("status", String(status))]
            ).increment()
        }
    }

    /// Records one store read of `query`.
    func storeQueried(_ query: String, duration: Duration) {
        registry.makeDurationHistogram(
            descriptor: Self.descriptor("audit_store_query_duration_seconds"), labels: [("query", query)],
            buckets: Self.durationBuckets
        ).record(duration)
    }

    /// Counts one pair view a request read, `kept` or built.
    func pairViewRead(kept: Bool) {
        registry.makeCounter(descriptor: Self.descriptor("audit_pair_views_total"), labels: [("result", kept ? "kept" : "built")])
            .increment()
    }

    private static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: descriptions[name] ?? "")
    }
}

/// Counts and times every request (``ServerMetrics``), whether its route answered or threw.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let clock = ContinuousClock()
        let start = clock.now
        let method = request.method.rawValue
        do {
            let response = try await next(request, context)
            metrics.requestAnswered(
                route: context.endpointPath ?? "unmatched", method: method, status: response.status.code,
                duration: clock.now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.requestAnswered(
                route: context.endpointPath ?? "unmatched", method: method, status: status, duration: clock.now - start)
            throw error
        }
    }
}
