// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditModel
import AuditQuery
import AuditStore
import Foundation

/// `bench read`: the auditor tools' throughput over a large store.
struct ReadBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Export and query throughput over a large store (default 10M notifications).",
        discussion: """
            Without --data, first writes a store of --notifications with `bench store`'s corpus \
            (10M: ~17 GB raw, ~2 GB on disk, tens of minutes). Then times what `export` and \
            `query` do, in process, with the output discarded: the pair view from the indexes, \
            every call exported as a JSON line with both notifications read back, and queries \
            (filters, negation, sorting, a page).
            """)

    @Option(help: "Notifications to store when --data is not given.")
    var notifications: Int = 10_000_000

    @Option(help: "An existing store to read (kept).")
    var data: String?

    func run() throws {
        let directory = data ?? NSTemporaryDirectory() + "audit-trail-read-bench-\(UUID().uuidString)"
        defer { if data == nil { try? FileManager.default.removeItem(atPath: directory) } }
        if data == nil {
            try StoreBench.parse(["--notifications", String(notifications), "--data", directory, "--keep", "--lookups", "1000"]).run()
        }
        let clock = ContinuousClock()
        var start = clock.now
        let reader = try AuditStore(directory: directory).reader()
        let trail = try Trail(reader: reader, window: 900_000_000, now: .max / 2, indexOnly: true)
        let scan = start.duration(to: clock.now).inSeconds
        let stored = trail.statistics.notifications
        print(String(format: "pair view from the indexes: %d notifications, %d calls in %.2f s (%.0f notifications/s)",
                     stored, trail.calls.count, scan, Double(stored) / scan))

        // Export: every call, both halves read back, one JSON line each, to nowhere.
        let latency = Trail.responseLatency()
        var bytes = 0
        var halves = 0
        start = clock.now
        for call in trail.calls {
            let call = try call.loadingBodies(from: reader, latency: latency)
            bytes += CallFormat.jsonLine(call).utf8.count + 1
            halves += (call.request == nil ? 0 : 1) + (call.response == nil ? 0 : 1)
        }
        let export = start.duration(to: clock.now).inSeconds
        print(String(format: "export (JSON lines, bodies read and latency decoded): %d calls, %d notifications in %.2f s = %.0f notifications/s, %.0f MB/s of output; with the pair view: %.0f notifications/s",
                     trail.calls.count, halves, export, Double(halves) / export, Double(bytes) / export / 1e6,
                     Double(halves) / (export + scan)))

        // Queries over the pair view (filtering and sorting; a query also pays the pair view above).
        let sample = trail.calls[trail.calls.count / 2]
        let first = trail.calls.first?.eventTime ?? 0
        let last = trail.calls.last?.eventTime ?? 0
        let third = (last - first) / 3
        let queries: [(String, [CallFilter], CallQuery.SortKey, Bool, Int?)] = [
            ("id", [CallFilter(.id(sample.id))], .time, false, nil),
            ("outcome failure, not status 404", [CallFilter(.outcome("failure")), CallFilter(.status(404), negated: true)], .time, false, nil),
            ("time range (a third) + initiator", [CallFilter(.since(first + third)), CallFilter(.until(first + 2 * third)),
                                                  CallFilter(.initiator(sample.fields?.initiatorName ?? ""))], .time, false, nil),
            ("orphans, newest first, first page of 100", [CallFilter(.orphan)], .time, true, 100),
            ("action prefix read, by initiator, first page of 100", [CallFilter(.actionPrefix("read"))], .initiator, false, 100),
        ]
        for (label, filters, sort, descending, limit) in queries {
            var query = CallQuery()
            query.filters = filters
            query.sort = sort
            query.descending = descending
            query.limit = limit
            start = clock.now
            let page = try query.page(of: trail.calls)
            let seconds = start.duration(to: clock.now).inSeconds
            print(String(format: "query %@: %d calls in %.3f s (%.0f calls scanned/s); end to end with the pair view %.2f s",
                         label, page.calls.count, seconds, Double(trail.calls.count) / seconds, seconds + scan))
        }
    }
}
