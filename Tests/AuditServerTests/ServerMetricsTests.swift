// AuditTrail — read server tests
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import AuditServer
import AuditTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `GET /metrics`: scraped without a token, and its counters move with the requests answered.
@Suite struct ServerMetricsTests {
    /// The value of the sample `name{labels...}` in a Prometheus text exposition (0 when absent).
    static func sample(_ text: String, _ name: String, _ labels: [String: String] = [:]) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let head = line.prefix { $0 != " " }
            guard labels.allSatisfy({ head.contains("\($0.key)=\"\($0.value)\"") }) else { continue }
            // Only the label sets asked for: a sample with other labels of the same name differs in count.
            let count = head.filter { $0 == "=" }.count
            guard count == labels.count else { continue }
            return Double(line.split(separator: " ").last ?? "") ?? .nan
        }
        return 0
    }

    @Test func aScrapeCountsRequestsByRouteAndStatusAndTimesThem() async throws {
        let fixture = try ServerFixture(seed: 3, calls: 60)
        let metrics = ServerMetrics()
        var configuration = try fixture.server().configuration
        configuration.metrics = metrics
        let app = Application(router: ReadServer(configuration: configuration).router())
        let someID = try #require(fixture.calls.first?.id)
        try await app.test(.router) { client in
            let empty = try await client.get("/metrics", token: nil)
            #expect(empty.status == .ok)

            #expect(try await client.get("/v1/calls?limit=5", token: "admin").status == .ok)
            #expect(try await client.get("/v1/calls?limit=5", token: "admin").status == .ok)
            #expect(try await client.get("/v1/calls", token: nil).status == .unauthorized)
            #expect(try await client.get("/v1/calls", token: "no-role").status == .forbidden)
            #expect(try await client.get("/v1/events/\(someID)", token: "admin").status == .ok)
            #expect(try await client.get("/v1/events/not-a-uuid", token: "admin").status == .badRequest)
            #expect(try await client.get("/no/such/route", token: nil).status == .notFound)

            let scrape = try await client.get("/metrics", token: nil)
            #expect(scrape.status == .ok)
            let text = scrape.body
            #expect(text.contains("# HELP audit_http_requests_total "))
            #expect(text.contains("# TYPE audit_http_request_duration_seconds histogram"))
            let requests = "audit_http_requests_total"
            #expect(Self.sample(text, requests, ["route": "/v1/calls", "method": "GET", "status": "200"]) == 2)
            #expect(Self.sample(text, requests, ["route": "/v1/calls", "method": "GET", "status": "401"]) == 1)
            #expect(Self.sample(text, requests, ["route": "/v1/calls", "method": "GET", "status": "403"]) == 1)
            #expect(Self.sample(text, requests, ["route": "/v1/events/{id}", "method": "GET", "status": "200"]) == 1)
            #expect(Self.sample(text, requests, ["route": "/v1/events/{id}", "method": "GET", "status": "400"]) == 1)
            #expect(!text.contains("/no/such/route"))
            #expect(Self.sample(text, requests, ["route": "/metrics", "method": "GET", "status": "200"]) == 1)
            #expect(Self.sample(text, "audit_http_auth_failures_total", ["status": "401"]) == 1)
            #expect(Self.sample(text, "audit_http_auth_failures_total", ["status": "403"]) == 1)
            #expect(Self.sample(text, "audit_http_request_duration_seconds_count", ["route": "/v1/calls"]) == 4)
            // Two pages and one event read the store; refused requests never reach it.
            #expect(Self.sample(text, "audit_store_query_duration_seconds_count", ["query": "calls"]) == 2)
            #expect(Self.sample(text, "audit_store_query_duration_seconds_count", ["query": "event"]) == 1)
            #expect(Self.sample(text, "audit_store_query_duration_seconds_sum", ["query": "calls"]) > 0)

            // The counters move with the next request.
            _ = try await client.get("/v1/calls?limit=1", token: "admin")
            let again = try await client.get("/metrics", token: nil).body
            #expect(Self.sample(again, requests, ["route": "/v1/calls", "method": "GET", "status": "200"]) == 3)
            #expect(Self.sample(again, requests, ["route": "/metrics", "method": "GET", "status": "200"]) == 2)
        }
    }
}
