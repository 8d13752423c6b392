// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditModel
import AuditStore
import AuditTraffic
import AuditWorker

/// A store written as the workers write it, from ``SampleTraffic``, without Kafka: for the
/// read-side tools and their tests.
///
/// Calls are spread over `partitions` logs of one topic by a hash of their id (as keyed
/// publishing does); some responses and some requests are left out (orphans), some halves are
/// stored twice (a redelivery: one stored copy plus a duplicate marker, as the worker does),
/// some twice with other bytes (a conflict), and some records are quarantined garbage.
public struct SampleStore {
    /// Calls written (pairs and single halves).
    public var calls = 0
    /// Ids of calls whose response was left out, and whose request was left out.
    public var missingResponses: Set<String> = []
    public var missingRequests: Set<String> = []
    /// Ids with a conflicting second copy of a half.
    public var conflicts: Set<String> = []
    /// Redelivered halves (stored once).
    public var duplicates = 0
    /// Quarantined records.
    public var quarantined = 0
    /// eventTime of the first and last call (µs).
    public var firstTime: Int64 = .max
    public var lastTime: Int64 = .min

    /// Writes `calls` calls into `directory` (a new store), sealing every `sealEvery` records so
    /// the store has sealed segments and an active journal.
    public static func write(
        directory: String, topic: String = "notifications.info", calls count: Int, partitions: Int32 = 2,
        seed: UInt64 = 5, options: StoreOptions = StoreOptions(), sealEvery: Int = 700
    ) throws -> SampleStore {
        var sample = SampleStore()
        var traffic = SampleTraffic(seed: seed)
        var random = SeededRandom(seed: seed)
        var decoder = NotificationDecoder(validator: try SchemaValidator.bundled())
        let store = try AuditStore(directory: directory, options: options)
        let writers = try (0..<partitions).map { try store.openWriter(topic: topic, partition: $0) }
        var next = [Int64](repeating: 0, count: Int(partitions))
        var sinceSeal = [Int](repeating: 0, count: Int(partitions))

        func append(_ body: StoreRecord.Body, partition: Int, time: Int64) throws {
            let record = StoreRecord(offset: next[partition], timestamp: time / 1000, body: body)
            try writers[partition].append([record])
            next[partition] += 1
            sinceSeal[partition] += 1
            if sinceSeal[partition] >= sealEvery {
                try writers[partition].seal()
                sinceSeal[partition] = 0
            }
        }
        func keep(_ bytes: [UInt8], partition: Int, time: Int64) throws {
            guard case .audit(let notification) = decoder.decode(bytes) else { throw Interop.Failure("a sample notification does not decode") }
            let fields = NotificationFields(notification, digest: NotificationFields.contentDigest(of: bytes))
            try append(.notification(fields, bytes: bytes), partition: partition, time: time)
        }

        for _ in 0..<count {
            let call = traffic.next()
            let id = call.request.payload.id
            let partition = Int(FNV1a.hash(id) % UInt64(partitions))
            let time = Timestamp.parse(call.request.payload.eventTime)?.microsecondsSinceEpoch ?? 0
            sample.calls += 1
            sample.firstTime = min(sample.firstTime, time)
            sample.lastTime = max(sample.lastTime, time)
            let roll = Int.random(in: 0..<100, using: &random)
            if roll != 0 { try keep(call.request.envelope, partition: partition, time: time) } else { sample.missingRequests.insert(id) }
            if roll != 1 { try keep(call.response.envelope, partition: partition, time: time) } else { sample.missingResponses.insert(id) }
            if roll == 2 {
                // A redelivery: the worker stores a marker, not a second copy.
                let marker = DuplicateMarker.eventType(.response, id: id)
                try append(.skipped(eventType: marker), partition: partition, time: time)
                sample.duplicates += 1
            }
            if roll == 3 {
                var other = call.response
                other.messageID = "conflict-\(id)"
                try keep(other.envelope, partition: partition, time: time)
                sample.conflicts.insert(id)
            }
            if roll == 4 {
                let garbage = Array("{\"oslo.version\": \"2.0\", \"oslo.message\": \"{not json".utf8)
                try append(.quarantined(reason: "notJSON", detail: "sample garbage", bytes: garbage), partition: partition, time: time)
                sample.quarantined += 1
            }
        }
        for writer in writers { try writer.close() }
        return sample
    }
}

