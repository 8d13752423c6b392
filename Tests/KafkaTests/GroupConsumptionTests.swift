// AuditTrail — Kafka module tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import CRdKafka
import Kafka
import Testing

/// What the members of a test group saw.
struct GroupLog: Sendable {
    struct Record: Sendable, Hashable {
        var member: Int
        var topicPartition: TopicPartition
        var offset: Int64
        var key: String
        var sequence: Int
    }
    var records: [Record] = []
    /// Rebalances per member, with the order in which they were observed across members.
    var events: [(member: Int, step: String, partitions: [TopicPartition])] = []
    var stop = false
    /// A member failed: waits end and the member's error is rethrown by the task group.
    var failed = false

    func rebalances(of member: Int, _ step: String) -> [[TopicPartition]] {
        events.filter { $0.member == member && $0.step == step && !$0.partitions.isEmpty }.map(\.partitions)
    }
}

/// Runs one group member until the log says stop: it records every message, commits what it
/// processed on every revoke before completing it, and logs each rebalance.
///
/// With `commitEachBatch`, it also commits after every batch, and a revoke commit that the mock
/// broker refuses because a rebalance is already in progress is accepted when everything
/// processed was committed before (librdkafka's mock refuses OffsetCommit while its group is
/// joining; a real broker accepts current-generation commits there).
func runMember(
    _ member: Int, bootstrap: String, group: String, topic: String, log: Observed<GroupLog>, commitEachBatch: Bool = true,
    onRevoke: @Sendable (Rebalance, [TopicPartition: Int64]) -> [TopicPartition: Int64] = { $1 }
) async throws {
    do {
        try await memberLoop(member, bootstrap: bootstrap, group: group, topic: topic, log: log, commitEachBatch: commitEachBatch, onRevoke: onRevoke)
    } catch {
        log.update {
            $0.failed = true
            $0.stop = true
        }
        throw error
    }
}

private func memberLoop(
    _ member: Int, bootstrap: String, group: String, topic: String, log: Observed<GroupLog>, commitEachBatch: Bool,
    onRevoke: @Sendable (Rebalance, [TopicPartition: Int64]) -> [TopicPartition: Int64]
) async throws {
    let consumer = try Consumer(configuration: TestEnvironment.consumerConfiguration(bootstrap: bootstrap, group: group))
    try consumer.subscribe([topic])
    var processed: [TopicPartition: Int64] = [:]
    var committed: [TopicPartition: Int64] = [:]
    while !log.value.stop && !Task.isCancelled {
        let batch = try await consumer.poll(maxMessages: 2048, timeout: .milliseconds(200))
        if !batch.messages.isEmpty {
            let records = batch.messages.map { message in
                let text = String(decoding: message.value ?? [], as: UTF8.self)
                return GroupLog.Record(
                    member: member, topicPartition: message.topicPartition, offset: message.offset,
                    key: String(decoding: message.key ?? [], as: UTF8.self),
                    sequence: Int(text.split(separator: ":").last ?? "") ?? -1)
            }
            for message in batch.messages { processed[message.topicPartition] = message.offset + 1 }
            log.update { $0.records.append(contentsOf: records) }
            if commitEachBatch {
                // Refused during a rebalance: the next batch or the revoke commits again.
                if try await commitUnlessRebalancing(consumer, processed) { committed.merge(processed) { $1 } }
            }
        }
        if let rebalance = batch.rebalance {
            if rebalance.kind == .revoke {
                let mine = processed.filter { rebalance.partitions.contains($0.key) }
                let toCommit = onRevoke(rebalance, mine)
                if !rebalance.isLost {
                    let alreadyCommitted = commitEachBatch && toCommit.allSatisfy { committed[$0.key] == $0.value }
                    if alreadyCommitted {
                        if try await !commitUnlessRebalancing(consumer, toCommit) {
                            log.update { $0.events.append((member, "revoke-commit-already-durable", rebalance.partitions)) }
                        }
                    } else {
                        try await consumer.commit(toCommit)
                    }
                }
                for tp in rebalance.partitions { processed[tp] = nil }
                log.update { $0.events.append((member, "revoke-committed", rebalance.partitions)) }
            } else {
                log.update { $0.events.append((member, "assign", rebalance.partitions)) }
            }
            try consumer.completeRebalance(rebalance)
        }
    }
    try await consumer.close()
}

/// Commits; false when the broker refused because a rebalance is in progress.
func commitUnlessRebalancing(_ consumer: Consumer, _ offsets: [TopicPartition: Int64]) async throws -> Bool {
    let failure: KafkaError
    do {
        try await consumer.commit(offsets)
        return true
    } catch {
        failure = error
    }
    if failure.name == "REBALANCE_IN_PROGRESS" { return false }
    throw failure
}

func produceKeyed(_ producer: Producer, topic: String, range: Range<Int>, keys: Int) async throws {
    for i in range {
        let key = "key-\(i % keys)"
        try await producer.enqueue(
            ProducerRecord(topic: topic, key: Array(key.utf8), value: Array("\(key):\(i / keys)".utf8)))
    }
    let summary = try await producer.flush()
    #expect(summary.failed == 0)
}

@Suite(.timeLimit(.minutes(3)))
struct GroupConsumptionTests {
    @Test func twoMembersConsumeEveryKeyedMessageExactlyOnceInKeyOrder() async throws {
        let topic = TestEnvironment.uniqueName("keyed")
        let group = TestEnvironment.uniqueName("group")
        let total = 100_000
        let keys = 500
        try await withMockCluster(topics: [topic: 6]) { cluster in
            let bootstrap = cluster.bootstrapServers
            let producer = try Producer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
            try await produceKeyed(producer, topic: topic, range: 0..<total / 2, keys: keys)

            let log = Observed(GroupLog())
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await runMember(0, bootstrap: bootstrap, group: group, topic: topic, log: log) }
                // The first member owns every partition and has consumed the first half...
                try await log.wait(timeout: .seconds(60), "member 0 consumed the first half") {
                    $0.records.count >= total / 2 || $0.failed
                }
                // ...when the second joins: cooperative-sticky moves half the partitions over.
                tasks.addTask { try await runMember(1, bootstrap: bootstrap, group: group, topic: topic, log: log) }
                try await log.wait(timeout: .seconds(60), "member 1 got partitions") {
                    !$0.rebalances(of: 1, "assign").isEmpty || $0.failed
                }
                try await produceKeyed(producer, topic: topic, range: total / 2..<total, keys: keys)
                try await log.wait(timeout: .seconds(60), "all messages consumed") { $0.records.count >= total || $0.failed }
                log.update { $0.stop = true }
                try await tasks.waitForAll()
            }

            let result = log.value
            // Exactly once: every (partition, offset) once, every (key, sequence) once.
            #expect(result.records.count == total)
            #expect(Set(result.records.map { "\($0.topicPartition)@\($0.offset)" }).count == total)
            #expect(Set(result.records.map { "\($0.key):\($0.sequence)" }).count == total)
            // Per-key order: along a key's partition offsets its sequence numbers increase.
            let byKey = Dictionary(grouping: result.records, by: \.key)
            for (key, records) in byKey {
                let sequences = records.sorted { $0.offset < $1.offset }.map(\.sequence)
                #expect(sequences == Array(0..<total / keys), "key \(key) out of order")
                #expect(Set(records.map(\.topicPartition)).count == 1)
            }
            // Each member saw its partitions in offset order.
            for member in 0...1 {
                let mine = result.records.filter { $0.member == member }
                for (tp, records) in Dictionary(grouping: mine, by: \.topicPartition) {
                    #expect(records.map(\.offset) == records.map(\.offset).sorted(), "\(tp) reordered")
                }
                #expect(!mine.isEmpty, "member \(member) consumed nothing")
            }
            // The rebalance was seen by both: member 0 gave partitions up, member 1 received them.
            let revoked = result.rebalances(of: 0, "revoke-committed").flatMap { $0 }
            let assignedTo1 = result.rebalances(of: 1, "assign").flatMap { $0 }
            #expect(!revoked.isEmpty)
            #expect(Set(revoked) == Set(assignedTo1))
        }
    }

    /// How a member that joined its group but has no assignment yet is let go.
    enum Release: String, CaseIterable, Sendable {
        /// ``Consumer/close(timeout:)``.
        case close
        /// ``Consumer/close(timeout:)`` from a cancelled task (an owner whose task group threw).
        case closeWhenCancelled
        /// No close at all: the last reference dropped (an owner that threw before closing).
        case release
    }

    /// librdkafka 2.0 aborts the process when a cooperative-sticky member is destroyed between
    /// its JoinGroup and its first assignment (#4312). With the coordinator's SyncGroup
    /// response held back 3 s, the member is let go inside that window, in each way an owner
    /// can let it go: each must wait for the assignment (the process would abort otherwise).
    @Test(arguments: Release.allCases)
    func lettingGoOfAMemberBeforeItsFirstAssignmentWaitsForIt(_ release: Release) async throws {
        let topic = TestEnvironment.uniqueName("joining")
        let group = TestEnvironment.uniqueName("group")
        try await withMockCluster(topics: [topic: 2]) { cluster in
            try cluster.delayNextResponse(broker: 1, apiKey: 14, milliseconds: 3000)  // SyncGroup
            let bootstrap = cluster.bootstrapServers
            let waited = try await Task {
                var consumer: Consumer? = try await joinedMember(bootstrap: bootstrap, group: group, topic: topic)
                let start = ContinuousClock.now
                switch release {
                case .close:
                    try await consumer!.close()
                case .closeWhenCancelled:
                    withUnsafeCurrentTask { $0?.cancel() }
                    try await consumer!.close()
                case .release:
                    consumer = nil
                }
                return start.duration(to: .now)
            }.value
            #expect(waited >= .milliseconds(500), "let go before the assignment came: \(waited)")
            #expect(waited < .seconds(12))
        }
    }

    /// The same window with no member id: the coordinator answers the first SyncGroup with
    /// `UNKNOWN_MEMBER_ID`, so librdkafka clears the member id but keeps the assignor it chose,
    /// and rejoins; the rejoin's JoinGroup response is held back 12 s. Taking only a member id as
    /// the sign of having joined, a member closed then was destroyed and aborted the process
    /// (it aborted a whole test run once). It must wait, then be kept.
    @Test func closingAMemberThatLostItsMemberIDMidJoinKeepsItUndestroyed() async throws {
        let topic = TestEnvironment.uniqueName("rejoining")
        let group = TestEnvironment.uniqueName("group")
        try await withMockCluster(topics: [topic: 2]) { cluster in
            try cluster.failRequests(broker: 1, apiKey: 14, with: RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID, count: 1, milliseconds: 1000)
            let bootstrap = cluster.bootstrapServers
            let kept = Consumer.handlesKeptUndestroyed
            let waited = try await Task {
                var consumer: Consumer? = try await joinedMember(bootstrap: bootstrap, group: group, topic: topic)
                try cluster.delayNextResponse(broker: 1, apiKey: 11, milliseconds: 12_000)  // the rejoin's JoinGroup
                try await waitUntil(seconds: 20, "the failed SyncGroup cleared the member id") { consumer!.memberID.isEmpty }
                let start = ContinuousClock.now
                _ = try? await consumer!.close(timeout: .seconds(1))
                consumer = nil
                return start.duration(to: .now)
            }.value
            #expect(waited >= .milliseconds(900), "closed without waiting for the assignment: \(waited)")
            #expect(Consumer.handlesKeptUndestroyed == kept + 1)
        }
    }

    /// A member still inside the window when the wait ends cannot be destroyed: it leaves its
    /// group and its handle is kept, counted, for the life of the process. `close(timeout:)`
    /// allows 1 s of a 6 s SyncGroup delay; a dropped member's `deinit` waits 10 s of 12 s.
    @Test(arguments: Release.allCases)
    func aMemberStillJoiningWhenTheWaitEndsIsKeptUndestroyed(_ release: Release) async throws {
        let topic = TestEnvironment.uniqueName("joining")
        let group = TestEnvironment.uniqueName("group")
        try await withMockCluster(topics: [topic: 2]) { cluster in
            try cluster.delayNextResponse(broker: 1, apiKey: 14, milliseconds: release == .release ? 12_000 : 6000)
            let bootstrap = cluster.bootstrapServers
            let kept = Consumer.handlesKeptUndestroyed
            try await Task {
                var consumer: Consumer? = try await joinedMember(bootstrap: bootstrap, group: group, topic: topic)
                if release == .closeWhenCancelled { withUnsafeCurrentTask { $0?.cancel() } }
                if release != .release {
                    // librdkafka's close outlasts the timeout: its LeaveGroup waits for the SyncGroup.
                    _ = try? await consumer!.close(timeout: .seconds(1))
                }
                consumer = nil
            }.value
            #expect(Consumer.handlesKeptUndestroyed == kept + 1)
        }
    }

    /// A member of `group` subscribed to `topic`, once its JoinGroup was answered (it has a member id).
    private func joinedMember(bootstrap: String, group: String, topic: String) async throws -> Consumer {
        let consumer = try Consumer(configuration: TestEnvironment.consumerConfiguration(bootstrap: bootstrap, group: group))
        try consumer.subscribe([topic])
        try await waitUntil(seconds: 20, "the member joined") { !consumer.memberID.isEmpty }
        return consumer
    }

    private func waitUntil(seconds: Int, _ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while !condition() && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        try #require(condition(), "timed out waiting: \(what)")
    }

    @Test func revokeReachesOwnerBeforePartitionsMoveAndItsCommitIsHonoured() async throws {
        // librdkafka's mock broker refuses OffsetCommit while its group is joining, and the new
        // member may rejoin in the instant between the old owner's revoke and its commit. That
        // refusal (and only it) repeats the scenario with a fresh topic and group.
        for attempt in 1...3 {
            let failure: any Error
            do {
                try await revokeScenario()
                return
            } catch {
                failure = error
            }
            guard attempt < 3, (failure as? KafkaError)?.name == "REBALANCE_IN_PROGRESS" else { throw failure }
            print("attempt \(attempt): the mock refused the revoke commit during a rejoin; repeating")
        }
    }

    func revokeScenario() async throws {
        let topic = TestEnvironment.uniqueName("revoke")
        let group = TestEnvironment.uniqueName("group")
        try await withMockCluster(topics: [topic: 4]) { cluster in
            let bootstrap = cluster.bootstrapServers
            let producer = try Producer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
            for i in 0..<4000 {
                try await producer.enqueue(
                    ProducerRecord(topic: topic, partition: Int32(i % 4), value: Array("v:\(i / 4)".utf8)))
            }
            try await producer.flush()

            let log = Observed(GroupLog())
            // The first owner commits offset 500 for each partition it gives up (as if only the
            // first 500 were durable), and nothing before: the next owner must start there.
            let commitAt: Int64 = 500
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    try await runMember(0, bootstrap: bootstrap, group: group, topic: topic, log: log, commitEachBatch: false) {
                        rebalance, _ in Dictionary(uniqueKeysWithValues: rebalance.partitions.map { ($0, commitAt) })
                    }
                }
                try await log.wait(timeout: .seconds(60), "member 0 consumed everything") { $0.records.count >= 4000 || $0.failed }
                tasks.addTask { try await runMember(1, bootstrap: bootstrap, group: group, topic: topic, log: log) }
                try await log.wait(timeout: .seconds(60), "member 1 consumed from its partitions") { log in
                    if log.failed { return true }
                    let moved = Set(log.rebalances(of: 1, "assign").flatMap { $0 })
                    return !moved.isEmpty
                        && moved.allSatisfy { tp in
                            log.records.filter { $0.member == 1 && $0.topicPartition == tp }.count == 1000 - Int(commitAt)
                        }
                }
                log.update { $0.stop = true }
                try await tasks.waitForAll()
            }
            let result = log.value
            let revokeIndex = try #require(result.events.firstIndex { $0.member == 0 && $0.step == "revoke-committed" })
            let assignIndex = try #require(result.events.firstIndex { $0.member == 1 && $0.step == "assign" && !$0.partitions.isEmpty })
            #expect(revokeIndex < assignIndex, "the new owner got partitions before the old owner finished its revoke")
            let moved = Set(result.events[assignIndex].partitions)
            #expect(moved == Set(result.events[revokeIndex].partitions))
            for tp in moved {
                let offsets = result.records.filter { $0.member == 1 && $0.topicPartition == tp }.map(\.offset)
                #expect(offsets.first == commitAt, "\(tp) resumed at \(offsets.first ?? -1)")
                #expect(offsets == Array(commitAt..<1000))
            }
        }
    }
}
