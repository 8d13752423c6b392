// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditModel
import AuditStore
import AuditWorker
import Foundation

/// Options of the read-side commands.
struct TrailOptions: ParsableArguments {
    @Option(help: "Data directory of the store.")
    var data: String

    @Option(help: "Correlation window in seconds: a single half older than this is an orphan.")
    var window: Int = 900

    /// The pair view of the store, with latencies from the stored responses (or, with
    /// `indexOnly`, counts from the indexes alone).
    func trail(indexOnly: Bool = false) throws -> Trail {
        var decoder = NotificationDecoder(validator: try SchemaValidator.bundled())
        return try Trail(directory: data, window: Int64(window) * 1_000_000, now: microsecondsNow(), indexOnly: indexOnly) { _, response in
            guard let bytes = response.record.bytes, case .audit(let decoded) = decoder.decode(bytes),
                  let nanoseconds = decoded.latencyNanoseconds else { return nil }
            return Double(nanoseconds) / 1e6
        }
    }
}

/// `audit-trail query`: pairs and orphans of the stored trail.
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "List stored calls: one pair or orphan a line (JSON lines with --json).")

    @OptionGroup var options: TrailOptions

    @Option(help: "Only the call with this CADF id.")
    var id: String?

    @Flag(help: "JSON lines: id, request, response, outcome, status, latencyMs.")
    var json = false

    func run() async throws {
        let trail = try options.trail()
        for call in trail.calls where id == nil || call.id == id {
            if json {
                print(Self.jsonLine(call))
            } else {
                let status = call.status.map(String.init) ?? "-"
                let latency = call.latencyMilliseconds.map { String(format: "%.1f ms", $0) } ?? "-"
                let fields = (call.request ?? call.response)?.record.fields
                print("\(call.id)  \(call.isPair ? "pair  " : "orphan")  \(fields?.action ?? "-")  \(call.outcome)  \(status)  \(latency)  \(fields?.initiatorName ?? "-")  \(fields?.requestPath ?? "-")")
            }
        }
    }

    /// One call as a JSON object; the halves are embedded exactly as stored (they are JSON).
    static func jsonLine(_ call: Trail.Call) -> String {
        func half(_ record: StoredRecord?) -> String {
            guard let bytes = record?.record.bytes else { return "null" }
            return String(decoding: bytes, as: UTF8.self)
        }
        var line = "{\"id\": \(quote(call.id)), \"request\": \(half(call.request)), \"response\": \(half(call.response))"
        line += ", \"outcome\": \(quote(call.outcome)), \"status\": \(call.status.map(String.init) ?? "null")"
        line += ", \"latencyMs\": \(call.latencyMilliseconds.map { String($0) } ?? "null")"
        line += ", \"pair\": \(call.isPair), \"conflicts\": \(call.conflicts.count)}"
        return line
    }

    static func quote(_ text: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: [text])
        return data.map { String(decoding: $0.dropFirst().dropLast(), as: UTF8.self) } ?? "\"\""
    }
}

/// `audit-trail stats`: counts of the stored trail.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Counts of the stored trail (one JSON object with --json).")

    @OptionGroup var options: TrailOptions

    @Flag(help: "One JSON object.")
    var json = false

    func run() async throws {
        let statistics = try options.trail(indexOnly: true).statistics
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(statistics), as: UTF8.self))
        } else {
            for (label, value) in Mirror(reflecting: statistics).children.map({ ($0.label ?? "", $0.value) }) {
                print("\(label): \(value)")
            }
        }
    }
}

func microsecondsNow() -> Int64 {
    Int64(Date().timeIntervalSince1970 * 1_000_000)
}
