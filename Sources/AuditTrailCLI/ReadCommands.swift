// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditArchive
import AuditQuery
import AuditStore
import Foundation

/// `audit-trail show ID`: one call, both notifications as stored, and where each came from.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one call: state, outcome, latency, both original notifications and their Kafka sources.")

    @OptionGroup var options: TrailOptions

    @Argument(help: "CADF event id.")
    var id: String

    @Flag(help: "One JSON object (the export's JSON line).")
    var json = false

    func run() async throws {
        try await options.prepare()
        let reader = try options.reader()
        let stored = try reader.records(withId: id).filter { $0.record.kind == .notification }
        guard !stored.isEmpty else {
            printError("no notification with id \(id) in \(options.directory)")
            throw ExitCode(1)
        }
        var call = Trail.Call(id: id)
        for record in stored { call.add(record) }
        call.settle(now: microsecondsNow(), window: Int64(options.window) * 1_000_000, latency: TrailOptions.latency())
        let kept = [call.request, call.response].compactMap { $0 }
        let copies = stored.filter { !kept.contains($0) }
        if json { return print(CallFormat.jsonLine(call)) }
        print("id:       \(call.id)")
        print("state:    \(call.state.rawValue)")
        print("outcome:  \(call.outcome)  status: \(call.status.map(String.init) ?? "-")")
        print("latency:  \(call.latencyMilliseconds.map { String(format: "%.3f ms", $0) } ?? "-")")
        if let time = call.eventTime { print("time:     \(CallFormat.utcText(time))") }
        if let fields = call.fields {
            print("action:   \(fields.action ?? "-")  path: \(fields.requestPath ?? "-")")
            print("initiator: \(fields.initiatorName ?? "-") (\(fields.initiatorId ?? "-")), project \(fields.projectId ?? "-")")
            print("target:   \(fields.targetTypeURI ?? "-") \(fields.targetId ?? "")  publisher: \(fields.publisher ?? "-")")
        }
        for (label, half) in [("request", call.request), ("response", call.response)] {
            print("")
            guard let half else {
                print("\(label): not stored")
                continue
            }
            print("\(label): \(Self.source(half))")
            print(String(decoding: half.record.bytes ?? [], as: UTF8.self))
        }
        for copy in copies {
            let conflict = call.conflicts.contains(copy)
            print("")
            print("\(conflict ? "CONFLICTING copy" : "redelivered copy") of the \(copy.record.fields?.eventType == .request ? "request" : "response"): \(Self.source(copy))")
            if conflict { print(String(decoding: copy.record.bytes ?? [], as: UTF8.self)) }
        }
    }

    static func source(_ half: StoredRecord) -> String {
        var text = "stored in \(half.topic)/\(half.partition) at offset \(half.record.offset)"
        if let origin = half.record.origin {
            text += ", consumed from \(origin.topic)/\(origin.partition) at offset \(origin.offset)"
        }
        return text
    }
}

/// `audit-trail export`: every call (or the filtered ones), streamed as JSON lines, CSV, ECS
/// documents or Splunk HEC envelopes.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export stored calls as JSON lines, CSV, ECS documents or Splunk HEC events (one call a line), oldest first.",
        discussion: """
            Calls are listed from the indexes, then each call's notifications are read and written \
            at once (memory holds the index view, not the bodies). A progress line shows on a \
            terminal (standard error), never when standard error is a pipe or a file.

            --format ecs writes one Elastic Common Schema 8.x document per call (for an Elasticsearch \
            bulk load or Filebeat); --format splunk-hec writes HTTP Event Collector envelopes back to \
            back, ready to POST to /services/collector/event. docs/EXPORT.md maps every field.
            """)

    /// What `export` writes.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, csv, ecs
        case splunkHEC = "splunk-hec"
    }

    @OptionGroup var options: TrailOptions
    @OptionGroup(title: "Filters") var filters: CallFilterOptions

    @Option(help: "json, csv, ecs (Elastic Common Schema) or splunk-hec.")
    var format: Format = .json

    @Option(help: "splunk-hec: the envelope's host (default: the call's publisher).")
    var hecHost: String?

    @Option(help: "splunk-hec: the envelope's source.")
    var hecSource = "audit-trail"

    @Option(help: "splunk-hec: the envelope's sourcetype.")
    var hecSourcetype = "cadf:call"

    @Option(help: "splunk-hec: the envelope's index (default: none, the HEC token's default index).")
    var hecIndex: String?

    @Option(name: .shortAndLong, help: "Write here instead of standard output.")
    var output: String?

    func run() async throws {
        var query = CallQuery()
        query.filters = try filters.filters(now: microsecondsNow())
        try await options.prepare()
        let reader = try options.reader()
        let calls = try query.page(of: try options.trail(indexOnly: true, reader: reader, filters: query.filters)).calls
        let latency = TrailOptions.latency()
        let out = try OutputStream(path: output)
        var progress = Progress("export", total: calls.count)
        let metadata = SIEMFormat.HECMetadata(host: hecHost, source: hecSource, sourcetype: hecSourcetype, index: hecIndex)
        if format == .csv { out.line(CallFormat.csvHeader(withBodies: true)) }
        for (number, call) in calls.enumerated() {
            let call = try call.loadingBodies(from: reader, latency: latency)
            switch format {
            case .json: out.line(CallFormat.jsonLine(call))
            case .csv: out.line(CallFormat.csvLine(call, withBodies: true))
            case .ecs: out.line(SIEMFormat.ecsLine(call))
            case .splunkHEC: out.line(SIEMFormat.hecLine(call, metadata: metadata))
            }
            progress.update(number + 1)
        }
        out.flush()
        progress.finish(calls.count)
    }
}

/// `audit-trail verify`: integrity and offset contiguity of a store.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a store: hash chains, digests, signatures, indexes, manifests and offset contiguity.",
        discussion: "Exits 0 when nothing is wrong, 1 on any finding (each printed with its file, position and offset).")

    @Option(help: "Data directory of the store (with --object-store: the current owner's, whose journals are checked against its checkpoints).")
    var data: String?

    @Option(help: "Ed25519 public key that must have signed every sealed segment (and, with --object-store, every checkpoint and tombstone): 64 hex digits, or a file holding them.")
    var key: String?

    @OptionGroup(title: "Object store") var archive: ArchiveCacheOptions

    @Flag(help: "One JSON object.")
    var json = false

    func run() async throws {
        if let data, !FileManager.default.fileExists(atPath: data) {
            printError("no store at \(data)")
            throw ExitCode(2)
        }
        let publicKey = try key.map(Self.publicKey)
        var archiveLines: [String] = []
        let report: VerifyReport
        if archive.isSet {
            let checked = try await ArchiveVerifier(mirror: try archive.open(), publicKey: publicKey, ownerData: data).verify()
            report = checked.data
            archiveLines.append(
                "object store: \(checked.checkpoints) checkpoint(s), \(checked.tombstones) tombstone(s), \(checked.unlistedObjects.count) segment object(s) no manifest lists (not read)")
        } else {
            guard let data else { throw ValidationError("give --data DIR, or --object-store s3://BUCKET/PREFIX") }
            report = StoreVerifier(directory: data, publicKey: publicKey).verify()
        }
        if json {
            var object = "{\"valid\": \(report.isValid), \"logs\": \(report.logs), \"segments\": \(report.segments)"
            object += ", \"records\": \(report.records), \"recordsAboveResume\": \(report.recordsAboveResume), \"findings\": ["
            object += report.findings.map { CallFormat.quote($0.description) }.joined(separator: ", ") + "]"
            object += ", \"brokerGaps\": \(report.brokerGaps.count), \"forwarded\": \(report.forwarded)"
            object += ", \"copiesStored\": \(report.copiesStored), \"copiesInFlight\": \(report.copiesInFlight.count), \"heads\": ["
            object += report.heads.map {
                "{\"topic\": \(CallFormat.quote($0.topic)), \"partition\": \($0.partition), \"nextOffset\": \($0.nextOffset.map(String.init) ?? "null"), \"chainHead\": \"\($0.chainHead)\"}"
            }.joined(separator: ", ") + "]}"
            print(object)
        } else {
            print("verified \(report.logs) log(s), \(report.segments) sealed segment(s), \(report.records) record(s)\(publicKey == nil ? "" : ", signatures required")")
            for line in archiveLines { print(line) }
            for gap in report.brokerGaps {
                print("broker gap (recorded, accepted): \(gap.topic)/\(gap.partition) offsets \(gap.offsets.lowerBound)..<\(gap.offsets.upperBound)")
            }
            if report.forwarded > 0 {
                print("forwarded: \(report.forwarded), copies stored: \(report.copiesStored), in flight: \(report.copiesInFlight.count)")
            }
            for unstored in report.copiesInFlight.prefix(10) { print("in flight (a worker has not stored it yet): \(unstored)") }
            if report.copiesInFlight.count > 10 { print("in flight: \(report.copiesInFlight.count - 10) more") }
            if report.tornTailBytes > 0 {
                print("torn journal tail: \(report.tornTailBytes) byte(s) (a crash mid-write; the next writer cuts it)")
            }
            if report.recordsAboveResume > 0 {
                print("above a resume offset: \(report.recordsAboveResume) record(s) durable in a journal, placed once the record "
                    + "before them leaves the writer's window (a crash drops them; Kafka delivers them again)")
            }
            for head in report.heads {
                print("head \(head.topic)/\(head.partition): next offset \(head.nextOffset.map(String.init) ?? "-"), chain \(head.chainHead)")
            }
            for finding in report.findings { print("FINDING \(finding)") }
            print(report.isValid ? "OK: no finding" : "FAILED: \(report.findings.count) finding(s)")
        }
        if !report.isValid { throw ExitCode(1) }
    }

    static func publicKey(_ text: String) throws -> [UInt8] {
        var hex = text
        if FileManager.default.fileExists(atPath: text), let contents = FileManager.default.contents(atPath: text) {
            if contents.count == 32 { return Array(contents) }
            hex = String(decoding: contents, as: UTF8.self)
        }
        hex = hex.trimmingCharacters(in: .whitespacesAndNewlines)
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { throw ValidationError("--key: 32 bytes as 64 hex digits, or a file holding them") }
        return try stride(from: 0, to: 64, by: 2).map { i in
            guard let byte = UInt8(String(decoding: digits[i...i + 1], as: UTF8.self), radix: 16) else {
                throw ValidationError("--key: not hex: \(hex)")
            }
            return byte
        }
    }
}

/// `audit-trail stats`: counts of the stored trail.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Counts of the stored trail: calls, orphans, duplicates, per publisher/action/outcome, quarantine reasons, time span, compression.")

    @OptionGroup var options: TrailOptions

    @Flag(help: "One JSON object.")
    var json = false

    func run() async throws {
        try await options.prepare()
        let reader = try options.reader()
        let statistics = try options.trail(indexOnly: true, reader: reader).statistics
        let storage = try reader.storage()
        let hop = try HopAccount(reader: reader)
        if json {
            struct Combined: Encodable {
                var statistics: Trail.Statistics
                var storage: StoreReader.Storage
                var hop: HopAccount
                func encode(to encoder: any Encoder) throws {
                    try statistics.encode(to: encoder)
                    var container = encoder.container(keyedBy: Key.self)
                    try container.encode(storage, forKey: Key("storage"))
                    try container.encode(storage.compressionRatio, forKey: Key("compressionRatio"))
                    try container.encode(hop.lost, forKey: Key("lost"))
                    try container.encode(hop.missing.count, forKey: Key("lostForwarded"))
                    try container.encode(hop.sourceGapOffsets, forKey: Key("lostSourceOffsets"))
                    try container.encode(hop.inFlight.count, forKey: Key("copiesInFlight"))
                }
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(Combined(statistics: statistics, storage: storage, hop: hop)), as: UTF8.self))
            return
        }
        let s = statistics
        print("notifications: \(s.notifications)  (calls: \(s.pairs) pairs, \(s.orphanRequests) orphan requests, \(s.orphanResponses) orphan responses, \(s.pending) pending)")
        print("duplicates: \(s.duplicates)  conflicts: \(s.conflicts)  quarantined: \(s.quarantined)  skipped: \(s.skipped)  forwarded: \(s.forwarded)  broker gaps: \(s.gaps)")
        print("lost: \(hop.lost)  (forwarded, copy never stored: \(hop.missing.count); source offsets gone before they were read: \(hop.sourceGapOffsets))  copies in flight: \(hop.inFlight.count)")
        if hop.lost > 0 {
            printError("LOST: \(hop.lost) notification(s) consumed but not stored; `audit-trail verify --data \(options.directory)` names each, `audit-trail repair` fetches forwarded ones again")
        }
        if let first = s.firstEventTime, let last = s.lastEventTime {
            print("time span: \(CallFormat.utcText(first)) .. \(CallFormat.utcText(last))")
        }
        for (title, counts) in [("publisher", s.byPublisher), ("action", s.byAction), ("outcome", s.byOutcome), ("quarantine reason", s.quarantineReasons)] where !counts.isEmpty {
            print("by \(title):")
            for (name, count) in counts.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) { print("  \(count)\t\(name)") }
        }
        print(String(
            format: "storage: %.1f MB raw in sealed segments -> %.1f MB segments (%.2fx) + %.1f MB indexes; %d records sealed, %d in journals",
            Double(storage.rawBytes) / 1e6, Double(storage.segmentBytes) / 1e6, storage.compressionRatio,
            Double(storage.indexBytes) / 1e6, storage.sealedRecords, storage.journalRecords))
    }
}

/// A coding key from a string.
struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
