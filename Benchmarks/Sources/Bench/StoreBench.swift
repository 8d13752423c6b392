// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditModel
import AuditStore
import AuditTesting
import Foundation

/// `bench store`: append throughput, compression, block decode, id lookups and a
/// time-range + initiator query on generated keystonemiddleware-shaped notifications.
struct StoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Segment store figures: append MB/s, compression ratio, block decode, lookups, queries.",
        discussion: """
            The corpus is generated in memory (seeded; request + response pairs of several services), \
            appended batch by batch (generation is not timed), sealed, then read back. \
            10M notifications (~17 GB raw, ~1.5 GB stored) need ~2 GB of disk and ~20 min: \
            `bench store --notifications 10000000`.
            """)

    @Option(help: "Notifications to store.")
    var notifications: Int = 1_000_000

    @Option(help: "Data directory (default: a temporary one under /tmp, removed afterwards).")
    var data: String?

    @Option(help: "Raw bytes per compressed block.")
    var blockSize: Int = StoreOptions().blockSize

    @Option(help: "zstd level of the sealed blocks.")
    var level: Int32 = StoreOptions().compressionLevel

    @Option(help: "zstd level of the journal's frames.")
    var journalLevel: Int32 = StoreOptions().journalCompressionLevel

    @Option(help: "Journal format: 3 (compressed frames), or 2 (raw records) to compare.")
    var journalVersion: Int = StoreOptions().journalVersion

    @Option(help: "Raw bytes records wait in for their partner before going into a block.")
    var pairWindow: Int = StoreOptions().pairWindowBytes

    @Option(help: "Dictionary capacity in bytes (0: none).")
    var dictionary: Int = StoreOptions().dictionaryCapacity

    @Option(help: "Id lookups to time.")
    var lookups: Int = 20_000

    @Option(help: "Batches of 4096 between durability barriers (fsync); 0: only at the end.")
    var syncEvery: Int = 1

    @Option(help: "Also write the corpus here, one notification a line (to compare with zstd/gzip).")
    var dump: String?

    @Flag(help: "Do not append: read an existing --data directory written by this bench (same seed and size).")
    var reuse = false

    @Flag(help: "Keep the data directory.")
    var keep = false

    func run() throws {
        let directory = data ?? NSTemporaryDirectory() + "audit-trail-bench-\(UUID().uuidString)"
        defer { if !keep && data == nil { try? FileManager.default.removeItem(atPath: directory) } }
        var options = StoreOptions()
        options.blockSize = blockSize
        options.compressionLevel = level
        options.journalCompressionLevel = journalLevel
        options.journalVersion = journalVersion
        options.dictionaryCapacity = dictionary
        options.pairWindowBytes = pairWindow
        let store = try AuditStore(directory: directory, options: options)
        print("store bench: \(notifications) notifications into \(directory)")
        print("  blocks \(blockSize) B raw, zstd -\(level) (journal version \(journalVersion), frames -\(journalLevel)), dictionary \(dictionary) B, segments \(options.segmentMaxBytes >> 20) MiB")

        // Append.
        let writer = try store.openWriter(topic: "audit-by-id", partition: 0)
        var generator = SyntheticNotifications(seed: 42)
        let clock = ContinuousClock()
        var appendTime = Duration.zero
        var appendCPU = 0.0
        var rawBytes = 0
        var offset: Int64 = 0
        var sample: [String] = []
        var firstTime: Int64 = .max
        var lastTime: Int64 = .min
        var initiators: [String: Int] = [:]
        var batches = 0
        let dumpFile = dump.flatMap { path -> FileHandle? in
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }
        while offset < Int64(notifications) {
            let batch = generator.next(min(4096, notifications - Int(offset)))
            let records = batch.map { n -> StoreRecord in
                defer { offset += 1 }
                return StoreRecord(offset: offset, timestamp: n.timestamp, body: .notification(n.fields, bytes: n.bytes))
            }
            if let dumpFile {
                dumpFile.write(Data(batch.flatMap { $0.bytes + [10] }))
            }
            for n in batch {
                rawBytes += n.bytes.count
                firstTime = min(firstTime, n.eventTime)
                lastTime = max(lastTime, n.eventTime)
                if sample.count < lookups || Int.random(in: 0..<Int(offset)) < lookups {
                    if sample.count < lookups { sample.append(n.id) } else { sample[Int.random(in: 0..<lookups)] = n.id }
                }
                if initiators.count < 1000 || initiators[n.initiatorId] != nil { initiators[n.initiatorId, default: 0] += 1 }
            }
            if reuse { continue }
            let start = clock.now
            let startCPU = threadCPUTime()
            try writer.append(records)
            batches += 1
            if syncEvery > 0 && batches % syncEvery == 0 { try writer.sync() }
            appendCPU += threadCPUTime() - startCPU
            appendTime += start.duration(to: clock.now)
        }
        // What the log takes on disk before any seal of its own ends the run (journal, sealed
        // segments, indexes): the "at most 1/8 of raw right after a run".
        let log = directory + "/audit-by-id/0"
        let unsealedBytes = Self.bytesOnDisk(log)
        let sealStart = clock.now
        let sealCPU = threadCPUTime()
        try writer.seal()
        appendCPU += threadCPUTime() - sealCPU
        appendTime += sealStart.duration(to: clock.now)
        let seconds = appendTime.inSeconds
        if !reuse {
            // Per core: raw bytes over the CPU time of the appending thread (user + system: the
            // page-cache copies count). Wall time also waits for the disk at each fsync.
            let barrier = syncEvery > 0 ? "fsync every \(syncEvery * 4096)" : "fsync at the end"
            print(String(format: "append (encode, journal, SHA-256 chain, zstd, index, seal): %.0f MB/s raw per core (CPU time), %.0f notifications/s",
                         Double(rawBytes) / appendCPU / 1e6, Double(notifications) / appendCPU))
            print(String(format: "append wall clock (%@, waits for the disk): %.0f MB/s raw, %.0f notifications/s",
                         barrier, Double(rawBytes) / seconds / 1e6, Double(notifications) / seconds))
        }

        if !reuse {
            print(String(format: "on disk right after appending, before the final seal: %.1f MB (raw / on disk %.2fx, goal >= 8x)",
                         Double(unsealedBytes) / 1e6, Double(rawBytes) / Double(max(unsealedBytes, 1))))
        }

        // Sizes.
        var segmentBytes = 0
        var indexBytes = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: log) {
            let size = (try FileManager.default.attributesOfItem(atPath: log + "/" + name)[.size] as? Int) ?? 0
            if name.hasSuffix(".seg") { segmentBytes += size }
            if name.hasSuffix(".idx") { indexBytes += size }
        }
        print(String(format: "raw %.1f MB; segments %.1f MB (%.2fx); indexes %.1f MB; segments + indexes %.2fx",
                     Double(rawBytes) / 1e6, Double(segmentBytes) / 1e6, Double(rawBytes) / Double(segmentBytes),
                     Double(indexBytes) / 1e6, Double(rawBytes) / Double(segmentBytes + indexBytes)))

        // Block decode and lookups.
        let reader = try store.reader()
        let loadStart = clock.now
        _ = try reader.records(withId: "warm-up: loads every index")
        print(String(format: "open every index (cold): %.0f ms", loadStart.duration(to: clock.now).inSeconds * 1000))
        for pass in ["first pass", "second pass"] {
            var latencies: [Double] = []
            var found = 0
            for id in sample {
                let start = clock.now
                found += try reader.records(withId: id).count
                latencies.append(start.duration(to: clock.now).inSeconds * 1000)
            }
            latencies.sort()
            print(String(format: "id lookup (both halves, decodes their blocks), %d ids, %@: p50 %.3f ms, p99 %.3f ms, max %.3f ms; %d records",
                         latencies.count, pass, percentile(latencies, 0.5), percentile(latencies, 0.99), latencies.last ?? 0, found))
        }
        let decode = try reader.blockDecodeTimes(limit: 2000)
        print(String(format: "block decode (zstd + dictionary), %d blocks: p50 %.3f ms, p99 %.3f ms, max %.3f ms",
                     decode.count, percentile(decode, 0.5), percentile(decode, 0.99), decode.last ?? 0))

        // Time range + initiator.
        let busiest = initiators.max { $0.value < $1.value }!.key
        var query = StoreQuery()
        let middle = firstTime + (lastTime - firstTime) / 3
        query.timeRange = middle..<(middle + (lastTime - firstTime) / 3)
        query.initiatorId = busiest
        for (run, indexOnly) in [("records with bytes", false), ("again", false), ("index only", true)] {
            query.indexOnly = indexOnly
            let start = clock.now
            var cursor = reader.cursor(query)
            var count = 0
            while try cursor.next() != nil { count += 1 }
            print(String(format: "query time range (a third of %.0f min) + initiator, %@: %.0f ms, %d records",
                         Double(lastTime - firstTime) / 6e7, run, start.duration(to: clock.now).inSeconds * 1000, count))
        }
    }

    /// The sizes of the files under `directory`, added up.
    static func bytesOnDisk(_ directory: String) -> Int {
        guard let files = FileManager.default.enumerator(atPath: directory) else { return 0 }
        var total = 0
        for case let name as String in files {
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)
            if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? Int) ?? 0 }
        }
        return total
    }
}
