// AuditTrail — Kafka module tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Kafka
import Testing

@Suite(.timeLimit(.minutes(2)))
struct FetchWakeTests {
    /// A backlog many times `queued.max.messages.kbytes` makes librdkafka stop fetching again and
    /// again. Left to itself, librdkafka 2.0 resumes only when its broker thread wakes, up to a
    /// second later, and the consumer waits that second with an empty queue each time. The
    /// consumer wakes it once the queue has drained to half, so consuming the backlog never waits
    /// for it: here 16 stops would have cost about 16 seconds of waiting.
    @Test func aBacklogLargerThanThePrefetchIsConsumedWithoutWaitingForTheFetcher() async throws {
        let topic = TestEnvironment.uniqueName("backlog")
        let partitions: Int32 = 8
        let count = 16_000
        try await withMockCluster(topics: [topic: partitions]) { cluster in
            let bootstrap = cluster.bootstrapServers
            let producer = try Producer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
            let padding = [UInt8](repeating: UInt8(ascii: "x"), count: 1000)
            for i in 0..<count {
                let value = Array("\(i):".utf8) + padding
                try await producer.enqueue(ProducerRecord(topic: topic, partition: Int32(i) % partitions, value: value))
            }
            try await producer.flush()

            var configuration = KafkaConfiguration(bootstrapServers: bootstrap)
            configuration.set("queued.max.messages.kbytes", "1024")  // about 1,000 of the 16,000 messages
            let consumer = try Consumer(configuration: configuration)
            try consumer.assign(Dictionary(uniqueKeysWithValues: (0..<partitions).map { (TopicPartition(topic, $0), Offset.beginning) }))
            var next = [Int64](repeating: 0, count: Int(partitions))
            var received = 0
            var waited = Duration.zero
            let deadline = ContinuousClock.now + .seconds(90)
            while received < count && ContinuousClock.now < deadline {
                let batch = try await consumer.poll(maxMessages: 256, timeout: .seconds(2))
                // The wait for the first fetch is not the one this test is about.
                if received > 0 { waited += batch.waited }
                for message in batch.messages {
                    let p = Int(message.topicPartition.partition)
                    #expect(message.offset == next[p], "partition \(p): offset \(message.offset) after \(next[p] - 1)")
                    next[p] = message.offset + 1
                    let text = String(decoding: message.value?.prefix { $0 != UInt8(ascii: ":") } ?? [], as: UTF8.self)
                    #expect(Int(text).map { Int32($0) % partitions } == message.topicPartition.partition)
                }
                received += batch.messages.count
            }
            #expect(received == count)
            #expect(next.allSatisfy { $0 == Int64(count) / Int64(partitions) })
            #expect(consumer.fetchWakes >= 8, "the queue drained to half \(consumer.fetchWakes) times")
            // Without the wakes this is about a second per stop; with them, a few fetch round trips.
            #expect(waited < .seconds(4), "waited \(waited) for librdkafka with an empty queue")
            try await consumer.close()
        }
    }
}
