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

    /// The pair view of the store. With `indexOnly`, from the indexes alone: no bytes, no
    /// latency (load them per call with ``Trail/Call/loadingBodies(from:latency:)`` and the same
    /// `reader`, whose indexes are then loaded already).
    func trail(indexOnly: Bool = false, reader: StoreReader? = nil) throws -> Trail {
        try Trail(
            reader: try reader ?? self.reader(), window: Int64(window) * 1_000_000, now: microsecondsNow(),
            indexOnly: indexOnly, latency: Self.latency())
    }

    func reader() throws -> StoreReader {
        try Self.requireStore(data)
        return try AuditStore(directory: data).reader()
    }

    /// Refuses a path that holds no store (a typo, an empty directory): "no calls match" would
    /// read as "nothing happened" to an auditor.
    static func requireStore(_ path: String) throws {
        let files = FileManager.default
        let logs = ((try? files.contentsOfDirectory(atPath: path)) ?? []).contains { topic in
            ((try? files.contentsOfDirectory(atPath: path + "/" + topic)) ?? []).contains { Int32($0) != nil }
        }
        guard logs else {
            printError(files.fileExists(atPath: path) ? "no store at \(path): it holds no log (<topic>/<partition>/)" : "no store at \(path): no such directory")
            throw ExitCode(2)
        }
    }

    /// Latency of a pair from its stored response (reporter time minus event time).
    static func latency() -> (StoredRecord, StoredRecord) -> Double? {
        var decoder = NotificationDecoder(validator: try! SchemaValidator.bundled())
        return { _, response in
            guard let bytes = response.record.bytes, case .audit(let decoded) = decoder.decode(bytes),
                let nanoseconds = decoded.latencyNanoseconds
            else { return nil }
            return Double(nanoseconds) / 1e6
        }
    }
}

/// The call filters shared by `query` and `export`.
struct CallFilterOptions: ParsableArguments {
    @Option(help: "CADF id.")
    var id: String?
    @Option(help: "Calls at or after this time: ISO 8601 (2026-11-22T10:00:00Z, 2026-11-22) or relative (90s, 15m, 1h, 2d).")
    var since: String?
    @Option(help: "Calls before this time (same forms as --since).")
    var until: String?
    @Option(help: "Initiator id or name.")
    var initiator: String?
    @Option(help: "Initiator project id.")
    var project: String?
    @Option(help: "Action prefix (update matches update/addresses).")
    var action: String?
    @Option(help: "Outcome: success, failure, unknown, or pending (no response stored).")
    var outcome: String?
    @Option(help: "HTTP status of the response.")
    var status: Int?
    @Option(help: "Target typeURI.")
    var targetType: String?
    @Option(help: "Target id.")
    var target: String?
    @Option(help: "Publisher (oslo publisher_id).")
    var publisher: String?
    @Option(help: "Request path prefix.")
    var path: String?
    @Flag(help: "Orphans only: calls with one half, older than the correlation window.")
    var orphans = false
    @Option(
        name: .customLong("not"),
        help: ArgumentHelp(
            "Exclude calls matching FILTER=VALUE (any filter above, e.g. outcome=success, status=404, orphans); repeatable.",
            valueName: "filter"))
    var exclusions: [String] = []

    /// The filters, with times resolved against `now` (µs).
    func filters(now: Int64) throws -> [CallFilter] {
        var out: [CallFilter] = []
        let given: [(String, String?)] = [
            ("id", id), ("since", since), ("until", until), ("initiator", initiator), ("project", project),
            ("action", action), ("outcome", outcome), ("status", status.map(String.init)), ("target-type", targetType),
            ("target", target), ("publisher", publisher), ("path", path), ("orphans", orphans ? "" : nil),
        ]
        for case let (name, value?) in given { out.append(try Self.filter(name, value, negated: false, now: now)) }
        for exclusion in exclusions {
            let parts = exclusion.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            out.append(try Self.filter(String(parts[0]), parts.count > 1 ? String(parts[1]) : "", negated: true, now: now))
        }
        return out
    }

    static func filter(_ name: String, _ value: String, negated: Bool, now: Int64) throws -> CallFilter {
        let condition: CallFilter.Condition
        switch name {
        case "id": condition = .id(value)
        case "since": condition = .since(try time(value, now: now))
        case "until": condition = .until(try time(value, now: now))
        case "initiator": condition = .initiator(value)
        case "project": condition = .project(value)
        case "action": condition = .actionPrefix(value)
        case "outcome": condition = .outcome(value)
        case "status":
            guard let status = Int(value) else { throw ValidationError("status must be a number: \(value)") }
            condition = .status(status)
        case "target-type": condition = .targetType(value)
        case "target": condition = .target(value)
        case "publisher": condition = .publisher(value)
        case "path": condition = .pathPrefix(value)
        case "orphans": condition = .orphan
        default:
            throw ValidationError(
                "unknown filter \(name.debugDescription): id, since, until, initiator, project, action, outcome, status, target-type, target, publisher, path, orphans")
        }
        return CallFilter(condition, negated: negated)
    }

    /// µs since the epoch for an ISO 8601 time or date, or a duration before `now`.
    static func time(_ text: String, now: Int64) throws -> Int64 {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        if let unit = text.last.flatMap({ units[$0] }), let count = Double(text.dropLast()) {
            return now - Int64(count * Double(unit) * 1e6)
        }
        if let timestamp = Timestamp.parse(text) { return timestamp.microsecondsSinceEpoch }
        let formatter = ISO8601DateFormatter()
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime], [.withFullDate],
        ] {
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1e6) }
        }
        throw ValidationError("not a time: \(text.debugDescription) (use 2026-11-22T10:00:00Z, 2026-11-22, or 15m/1h/2d)")
    }
}

/// How a read-side command prints calls.
enum CallOutput: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

/// Buffered writes to standard output or a file.
final class OutputStream {
    private let handle: FileHandle
    private var buffer = Data()

    init(path: String?) throws {
        if let path {
            guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path)
            else { throw ValidationError("cannot write \(path)") }
            self.handle = handle
        } else {
            handle = FileHandle.standardOutput
        }
    }

    func line(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 20 { flush() }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        handle.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

func microsecondsNow() -> Int64 {
    Int64(Date().timeIntervalSince1970 * 1_000_000)
}

/// Standard error, for notes that must not mix with a command's machine-readable output.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
