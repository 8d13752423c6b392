// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

import AuditModel
public import AuditStore
import AuditWorker

/// A store of keystonemiddleware-style calls whose every attribute a test can look up: the pairs
/// of ``SampleNotifications`` (request ids on every initiator, a global request id on about a
/// third), written as the worker writes them, some responses left out (orphan requests).
public struct KnownCalls: Sendable {
    /// One written call.
    public struct Call: Sendable {
        /// The CADF id.
        public var id: String
        /// The request and response notifications as written (the response `nil` when left out).
        public var request: [UInt8]
        public var response: [UInt8]?
        /// `initiator.request_id` and `initiator.global_request_id`.
        public var requestID: String?
        public var globalRequestID: String?
        /// Where each half is stored.
        public var partition: Int32
        public var requestOffset: Int64
        public var responseOffset: Int64?
    }

    /// The calls, in the order written.
    public var calls: [Call] = []
    /// The last call's `eventTime` (µs since the epoch).
    public var lastTime: Int64 = 0

    /// Writes `count` calls into a new store at `directory`, on `partitions` partitions of
    /// `topic`, leaving out the response of every `orphanEvery`-th call and sealing every
    /// `sealEvery` records (so the store has sealed segments and an active journal).
    public static func write(
        directory: String, topic: String = "notifications.info", count: Int, partitions: Int32 = 2,
        orphanEvery: Int = 7, sealEvery: Int = 40, seed: UInt64 = 18, options: StoreOptions = StoreOptions()
    ) throws -> KnownCalls {
        var known = KnownCalls()
        var generator = SampleNotifications(seed: seed)
        var decoder = NotificationDecoder(validator: try SchemaValidator.bundled())
        let store = try AuditStore(directory: directory, options: options)
        let writers = try (0..<partitions).map { try store.openWriter(topic: topic, partition: $0) }
        var next = [Int64](repeating: 0, count: Int(partitions))
        var sinceSeal = [Int](repeating: 0, count: Int(partitions))

        func keep(_ bytes: [UInt8], partition: Int32) throws -> (AuditNotification, Int64) {
            guard case .audit(let notification) = decoder.decode(bytes) else {
                throw Interop.Failure("a sample notification does not decode")
            }
            let fields = NotificationFields(notification, digest: NotificationFields.contentDigest(of: bytes))
            let offset = next[Int(partition)]
            let record = StoreRecord(
                offset: offset, timestamp: notification.eventTime.microsecondsSinceEpoch / 1000,
                body: .notification(fields, bytes: bytes))
            try writers[Int(partition)].append([record])
            next[Int(partition)] += 1
            sinceSeal[Int(partition)] += 1
            if sinceSeal[Int(partition)] >= sealEvery {
                try writers[Int(partition)].seal()
                sinceSeal[Int(partition)] = 0
            }
            return (notification, offset)
        }

        for number in 0..<count {
            let pair = generator.nextPair()
            let partition = Int32(number % Int(partitions))
            let (request, requestOffset) = try keep(pair.request, partition: partition)
            var call = Call(
                id: request.id, request: pair.request, requestID: request.requestID,
                globalRequestID: request.globalRequestID, partition: partition, requestOffset: requestOffset)
            if (number + 1) % orphanEvery != 0 {
                call.response = pair.response
                call.responseOffset = try keep(pair.response, partition: partition).1
            }
            known.lastTime = max(known.lastTime, request.eventTime.microsecondsSinceEpoch)
            known.calls.append(call)
        }
        for writer in writers { try writer.close() }
        return known
    }
}
