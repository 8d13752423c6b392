// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditQuery
import AuditStore
import Foundation

/// Options of the read-side commands.
struct TrailOptions: ParsableArguments {
    @Option(help: "Data directory of the store.")
    var data: String?

    @OptionGroup(title: "Object store") var archive: ArchiveCacheOptions

    @Option(help: "Correlation window in seconds: a single half older than this is an orphan.")
    var window: Int = 900

    /// The pair view of the store. With `indexOnly`, from the indexes alone: no bytes, no
    /// latency (load them per call with ``Trail/Call/loadingBodies(from:latency:)`` and the same
    /// `reader`, whose indexes are then loaded already). `filters` narrow the read where the
    /// index can (request ids, ``Trail/RequestIDs``); the caller still applies them.
    func trail(indexOnly: Bool = false, reader: StoreReader? = nil, filters: [CallFilter] = []) throws -> Trail {
        try Trail(
            reader: try reader ?? self.reader(), window: Int64(window) * 1_000_000, now: microsecondsNow(),
            indexOnly: indexOnly, requestIDs: Trail.RequestIDs(filters: filters), latency: Self.latency())
    }

    /// The data directory read: `--data`, or with `--object-store` the local cache of the bucket
    /// (filled by ``prepare()``).
    var directory: String { data ?? archive.dataPath ?? "" }

    /// With `--object-store`, brings the cache's manifests in line with the bucket first (DESIGN
    /// §9); run it before reading.
    func prepare() async throws {
        _ = try await archive.dataDirectory(data: data)
    }

    func reader() throws -> StoreReader {
        try Self.requireStore(directory)
        return try AuditStore(directory: directory).reader()
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
    static func latency() -> (StoredRecord, StoredRecord) -> Double? { Trail.responseLatency() }
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
    @Option(help: "Request id (initiator.request_id): the calls of one request.")
    var requestId: String?
    @Option(help: "Global request id (initiator.global_request_id): one request across services.")
    var globalRequestId: String?
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
            ("target", target), ("publisher", publisher), ("path", path), ("request-id", requestId),
            ("global-request-id", globalRequestId), ("orphans", orphans ? "" : nil),
        ]
        for case let (name, value?) in given { out.append(try Self.filter(name, value, negated: false, now: now)) }
        for exclusion in exclusions {
            do {
                out.append(try CallFilter.exclusion(exclusion, now: now))
            } catch {
                throw ValidationError(error.message)
            }
        }
        return out
    }

    static func filter(_ name: String, _ value: String, negated: Bool, now: Int64) throws -> CallFilter {
        do {
            return try CallFilter.parse(name, value, negated: negated, now: now)
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// µs since the epoch for an ISO 8601 time or date, or a duration before `now`.
    static func time(_ text: String, now: Int64) throws -> Int64 {
        do {
            return try CallFilter.time(text, now: now)
        } catch {
            throw ValidationError(error.message)
        }
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
