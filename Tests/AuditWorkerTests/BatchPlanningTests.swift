// AuditTrail — AuditWorker tests
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditStore
import AuditTesting
import Foundation
import Kafka
import Logging
import Testing

@testable import AuditWorker

/// A batch's partitions are planned on several threads: each partition's messages in order,
/// with the redeliveries, gaps, duplicates, forwards and quarantines one thread would make.
@Suite struct BatchPlanningTests {
    private static let topic = "notifications.info"
    private static let byID = "audit.by-id"

    /// Logs for partitions 0, 1 and 2 in a fresh store: partition 0 already holds offsets 0..<5.
    private func makeLogs(_ directory: String) throws -> [TopicPartition: PartitionLog] {
        let store = try AuditStore(directory: directory)
        var logs: [TopicPartition: PartitionLog] = [:]
        for partition: Int32 in 0...2 {
            let writer = try store.openWriter(topic: Self.topic, partition: partition)
            if partition == 0 { try writer.append([StoreRecord(offset: 0, timestamp: -1, body: .gap(to: 5))]) }
            let tp = TopicPartition(Self.topic, partition)
            logs[tp] = PartitionLog(topicPartition: tp, writer: writer, now: 0)
        }
        return logs
    }

    /// 600 messages over partitions 0, 1, 2 and 9 (which has no log), round robin: keyed
    /// notifications, one redelivered copy, unkeyed ones, bad bytes; partition 0 starts at
    /// offset 3 (3 and 4 are durable already), partition 1 at offset 2 (0 and 1 are gone).
    private func makeBatch() throws -> ([KafkaMessage], [Prepared?]) {
        var generator = SyntheticNotifications(seed: 7)
        let notifications = generator.next(600)
        var next: [Int32: Int64] = [0: 3, 1: 2, 2: 0, 9: 0]
        var messages: [KafkaMessage] = []
        for (i, n) in notifications.enumerated() {
            let partition: Int32 = [0, 1, 2, 9][i % 4]
            var value = n.bytes
            var key: [UInt8]? = Array(n.id.utf8)
            if i % 45 == 5 { key = nil }  // unkeyed: forwarded
            if i % 63 == 6 { value = Array("{not json".utf8) }  // quarantined
            if i == 402 { (key, value) = (messages[2].key, messages[2].value!) }  // partition 2's first, again
            messages.append(KafkaMessage(
                topic: Self.topic, partition: partition, offset: next[partition]!, key: key, value: value,
                timestamp: 1_795_000_000_000 + Int64(i)))
            next[partition]! += 1
        }
        return (messages, try prepare(messages))
    }

    /// What ``WorkerLoop`` prepares of each message: its decoding, and the hash of a notification.
    private func prepare(_ messages: [KafkaMessage]) throws -> [Prepared?] {
        var decoder = NotificationDecoder(validator: try SchemaValidator.bundled())
        return messages.map { message -> Prepared? in
            let decoded = decoder.decode(message.value!)
            guard case .audit = decoded else { return Prepared(decoded: decoded) }
            return Prepared(decoded: decoded, hash: ContentHash(of: message.value!))
        }
    }

    private func summary(_ planned: Planned) -> String {
        switch planned {
        case .record(let record, let hash):
            if case .skipped(let eventType) = record.body {
                "\(record.offset) skipped \(eventType)"
            } else {
                "\(record.offset) \(record.kind) \(record.fields?.id ?? "") \(hash.map { "\($0.digest)" } ?? "-")"
            }
        case .forward(let marker, let copy):
            "\(marker.offset) forward \(String(decoding: copy.key ?? [], as: UTF8.self)) \(copy.topic)"
        }
    }

    @Test func partitionsPlannedOnLanesMatchOneThreadInOrder() throws {
        let (messages, prepared) = try makeBatch()
        let planning = BatchPlanning(
            metrics: WorkerMetrics(), logger: Logger(label: "test"), byIDTopic: Self.byID, deadLetterTopic: nil)
        var results: [[BatchPlanning.Share]] = []
        for lanes in [1, 2] {
            let directory = NSTemporaryDirectory() + "batch-planning-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let logs = try makeLogs(directory)
            results.append(planning.plan(messages, prepared, logs: logs, lanes: lanes))
            for log in logs.values { try log.writer.close() }
        }
        let (oneLane, twoLanes) = (results[0], results[1])
        // A share per partition with a log, in the order each first appears.
        #expect(oneLane.map(\.topicPartition.partition) == [0, 1, 2])
        #expect(twoLanes.map(\.topicPartition.partition) == [0, 1, 2])
        for (a, b) in zip(oneLane, twoLanes) {
            #expect(a.planned.map(summary) == b.planned.map(summary))
            #expect(a.messages == b.messages)
            #expect(a.counts.stored == b.counts.stored && a.counts.duplicates == b.counts.duplicates)
            #expect(a.counts.forwarded == b.counts.forwarded && a.counts.quarantined == b.counts.quarantined)
            #expect(a.counts.gapOffsets == b.counts.gapOffsets && a.counts.lostSource == b.counts.lostSource)
        }
        // Partition 0: 3 and 4 are durable already, so its plan starts at 5, one record per offset.
        let partition0 = twoLanes[0]
        #expect(partition0.messages == Array(stride(from: 0, to: 600, by: 4)))
        #expect(partition0.planned.map { summary($0).split(separator: " ")[0] } == (5..<153).map { "\($0)" })
        // Partition 1: offsets 0 and 1 are gone, recorded as a gap and counted as lost.
        let partition1 = twoLanes[1]
        #expect(summary(partition1.planned[0]).hasPrefix("0 gap"))
        #expect(partition1.counts.gapOffsets == 2 && partition1.counts.lostSource == 2)
        #expect(partition1.planned.count == 151)
        // Partition 2: the copy of its first notification is a duplicate; what each message
        // became adds up to the 150 messages.
        let partition2 = twoLanes[2]
        #expect(partition2.counts.duplicates == 1)
        #expect(summary(partition2.planned[100]).hasPrefix("100 skipped \(DuplicateMarker.prefix)"))
        for share in twoLanes {
            let c = share.counts
            #expect(c.stored + c.duplicates + c.forwarded + c.quarantined + c.skipped == share.messages.count
                - (share.topicPartition.partition == 0 ? 2 : 0))
            #expect(c.forwarded > 0 && c.quarantined > 0)
        }
    }

    /// The next batch is planned while the last one's shares wait for their copies, before they
    /// are appended: each log's next offset is the planner's own, so the second batch continues
    /// where the first ended (no gap, no redelivery), and once both are appended in order the
    /// writer agrees with it.
    @Test func aBatchIsPlannedBeforeThePreviousOneIsAppended() throws {
        let directory = NSTemporaryDirectory() + "batch-planning-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let logs = try makeLogs(directory)
        defer { for log in logs.values { try? log.writer.close() } }
        let tp = TopicPartition(Self.topic, 0)
        var generator = SyntheticNotifications(seed: 9)
        let planning = BatchPlanning(metrics: WorkerMetrics(), logger: Logger(label: "test"), byIDTopic: Self.byID, deadLetterTopic: nil)
        func batch(_ offsets: Range<Int64>) throws -> ([KafkaMessage], [Prepared?]) {
            let messages = generator.next(offsets.count).enumerated().map { (i, n) in
                KafkaMessage(
                    topic: Self.topic, partition: 0, offset: offsets.lowerBound + Int64(i), key: Array(n.id.utf8), value: n.bytes,
                    timestamp: 1_795_000_000_000)
            }
            return (messages, try prepare(messages))
        }
        let (first, firstPrepared) = try batch(5..<10)
        let (second, secondPrepared) = try batch(10..<15)
        let a = try #require(planning.plan(first, firstPrepared, logs: logs, lanes: 1).first)
        #expect(logs[tp]?.writer.nextOffset == 5 && logs[tp]?.nextToPlan == 10)
        let b = try #require(planning.plan(second, secondPrepared, logs: logs, lanes: 1).first)
        #expect(b.planned.map { summary($0).split(separator: " ")[0] } == (10..<15).map { "\($0)" })
        #expect(b.counts.stored == 5 && b.counts.gapOffsets == 0)
        for share in [a, b] {
            let records = share.planned.map { item -> StoreRecord in
                guard case .record(let record, _) = item else { preconditionFailure("a keyed batch forwards nothing") }
                return record
            }
            try logs[tp]!.writer.append(records)
        }
        #expect(logs[tp]?.writer.nextOffset == 15 && logs[tp]?.nextToPlan == 15)
    }

    /// A share waits for the acknowledgement of its copies before it is appended when it sends
    /// any: a forwarded notification or, with a dead-letter topic, invalid input. A by-id log's
    /// share and a keyed partition's share without invalid input are appended while the copies
    /// of the others travel (``WorkerLoop/process(_:until:)``).
    @Test func onlySharesThatSendCopiesWaitForTheirAcknowledgement() throws {
        let directory = NSTemporaryDirectory() + "batch-planning-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logs = try makeLogs(directory)
        let byID = TopicPartition(Self.byID, 0)
        logs[byID] = PartitionLog(
            topicPartition: byID, writer: try AuditStore(directory: directory).openWriter(topic: Self.byID, partition: 0), now: 0)
        defer { for log in logs.values { try? log.writer.close() } }
        var generator = SyntheticNotifications(seed: 8)
        var offsets: [TopicPartition: Int64] = [TopicPartition(Self.topic, 0): 5]
        var messages: [KafkaMessage] = []
        func add(_ tp: TopicPartition, keyed: Bool = true, value: [UInt8]? = nil) {
            let n = generator.next(1)[0]
            let offset = offsets[tp, default: 0]
            offsets[tp] = offset + 1
            messages.append(KafkaMessage(
                topic: tp.topic, partition: tp.partition, offset: offset, key: keyed ? Array(n.id.utf8) : nil,
                value: value ?? n.bytes, timestamp: 1_795_000_000_000 + offset))
        }
        let (keyedOnly, unkeyed, invalid) = (TopicPartition(Self.topic, 0), TopicPartition(Self.topic, 1), TopicPartition(Self.topic, 2))
        for _ in 0..<3 {
            add(keyedOnly)
            add(unkeyed)
            add(invalid)
            add(byID)
        }
        add(unkeyed, keyed: false)
        add(invalid, value: Array("{not json".utf8))
        let prepared = try prepare(messages)
        for deadLetterTopic in [nil, "audit.dead-letters"] {
            let planning = BatchPlanning(
                metrics: WorkerMetrics(), logger: Logger(label: "test"), byIDTopic: Self.byID, deadLetterTopic: deadLetterTopic)
            // The same batch is planned twice and never appended: planning advances each log's
            // next offset as if it had been, so each round starts from the writer's again.
            for log in logs.values { log.nextToPlan = log.writer.nextOffset }
            let shares = planning.plan(messages, prepared, logs: logs, lanes: 1)
            let waiting = Dictionary(uniqueKeysWithValues: shares.map { ($0.topicPartition, $0.waitsForCopies) })
            #expect(waiting == [keyedOnly: false, unkeyed: true, invalid: deadLetterTopic != nil, byID: false], "\(deadLetterTopic ?? "no dead letters")")
        }
    }
}
