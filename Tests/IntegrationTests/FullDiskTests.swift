// AuditTrail — integration tests
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import AuditTesting
import AuditWorker
import Foundation
import Kafka
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A full disk fails closed (issue 16, item 4): a write or fsync that fails stops the writer;
/// nothing past what is durable is committed, no half-written frame is kept as a record, and
/// once space is freed a restart resumes with nothing lost. Both tests run on a tmpfs of a few
/// MiB that they mount themselves (root only: CI runs as root).
@Suite(.serialized, .timeLimit(.minutes(5)), .enabled(if: SmallDisk.canMount, "needs root to mount a tmpfs"))
struct FullDiskTests {
    /// A `LogWriter` appends until the disk is full: the error names the file and the errno
    /// text, the writer refuses everything after it (even once space is back: its journal may
    /// end in half a frame, and Linux may report a later fsync clean after a failed one), and a
    /// writer opened afterwards cuts the half frame as a torn tail, finds no damage and resumes
    /// at or after the last offset a barrier returned. With small segments the disk also fills
    /// while a segment is sealed (`<base>.seg.tmp`, its index, the manifest), and with small
    /// blocks while a block is written to `<base>.seg.tmp` during an append.
    @Test(arguments: [(segment: 256 << 20, block: 768 << 10), (40 << 10, 768 << 10), (40 << 10, 8 << 10)])
    func writerStopsAtTheFirstFailedWriteAndRecoveryCutsTheHalfFrame(sizes: (segment: Int64, block: Int)) throws {
        try SmallDisk.with(size: "256k") { disk in
            var options = StoreOptions()
            options.segmentMaxBytes = sizes.segment
            options.blockSize = sizes.block
            let store = try AuditStore(directory: disk.path, options: options)
            var writer: LogWriter? = try store.openWriter(topic: "t", partition: 0)
            var offset: Int64 = 0
            var durable: Int64?
            var failure: StoreError?
            // A few 1.5 KB notifications per barrier, as the worker appends a batch and syncs.
            while failure == nil && offset < 10_000 {
                let batch = (offset..<offset + 5).map(Self.notification)
                offset += 5
                do throws(StoreError) {
                    try writer!.append(batch)
                    durable = try writer!.sync()
                } catch {
                    failure = error
                }
            }
            let error = try #require(failure, "the 256 KiB disk never filled")
            #expect(error.code == .io)
            #expect(error.message.contains(disk.path), "\(error)")
            #expect(error.message.contains("No space left on device"), "\(error)")

            // Space is back, but this writer's journal may end in half a frame and its chain head
            // past what is on disk: it must not append, make durable or seal anything more.
            try disk.resize("64m")
            // A caller retrying would append the failed batch again, from the writer's next offset.
            let retry = writer!.nextOffset ?? 0
            #expect(throws: StoreError.self) { try writer!.append((retry..<retry + 5).map(Self.notification)) }
            #expect(throws: StoreError.self) { try writer!.sync() }
            #expect(throws: StoreError.self) { try LogWriter.sync([writer!]) }
            #expect(throws: StoreError.self) { try writer!.seal() }
            #expect(writer!.resumeOffset == durable)
            writer = nil

            // A new writer (the restarted process) recovers: a torn tail at most, never damage.
            let reopened = try store.openWriter(topic: "t", partition: 0)
            #expect(reopened.recovery.damaged.isEmpty, "\(reopened.recovery.damaged)")
            let resume = try #require(reopened.resumeOffset)
            #expect(resume >= durable ?? 0)
            #expect(resume <= offset)
            // It appends on from there, and the log verifies.
            try reopened.append((resume..<resume + 5).map(Self.notification))
            #expect(try reopened.sync() == resume + 5)
            try reopened.close()
            let report = StoreVerifier(directory: disk.path).verify()
            #expect(report.findings.isEmpty, "\(report.findings.prefix(5))")
            print("full disk (store): \(error); resumed at \(resume), last barrier \(durable ?? 0), cut \(reopened.recovery.truncatedBytes) bytes")
        }
    }

    /// The disk is full when a log needs a new journal (its first append, or the first after a
    /// roll): the journal file may be created with less than its header. That file never held a
    /// record, so the next writer opens the log as if it did not exist, instead of refusing it
    /// as "not a journal".
    @Test func journalCreatedOnAFullDiskDoesNotStopTheNextWriter() throws {
        try SmallDisk.with(size: "64k") { disk in
            let store = try AuditStore(directory: disk.path)
            var writer: LogWriter? = try store.openWriter(topic: "t", partition: 0)
            let filler = disk.path + "/filler"
            #expect(FileManager.default.createFile(atPath: filler, contents: nil))
            let file = try #require(FileHandle(forWritingAtPath: filler))
            let page = Data(repeating: 0x55, count: 4096)
            // Fill every page the disk has left.
            while (try? file.write(contentsOf: page)) != nil {}
            try? file.close()
            #expect(throws: StoreError.self) { try writer!.append([Self.notification(0)]) }
            writer = nil
            try FileManager.default.removeItem(atPath: filler)

            let reopened = try store.openWriter(topic: "t", partition: 0)
            #expect(reopened.resumeOffset == nil)
            try reopened.append((0..<5).map(Self.notification))
            #expect(try reopened.sync() == 5)
            try reopened.close()

            // The same left by a crash during the creation: an empty journal, the start of a
            // header, zeros.
            try disk.resize("4m")
            for (partition, bytes) in [(1, [UInt8]()), (2, Array("ATJRNL02".utf8) + [200, 0]), (3, [UInt8](repeating: 0, count: 40))] {
                let directory = "\(disk.path)/t/\(partition)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try #require(FileManager.default.createFile(atPath: directory + "/00000000000000000000.journal", contents: Data(bytes)))
                let writer = try store.openWriter(topic: "t", partition: Int32(partition))
                #expect(writer.resumeOffset == nil)
                #expect(!FileManager.default.fileExists(atPath: directory + "/00000000000000000000.journal"))
                try writer.append((0..<5).map(Self.notification))
                try writer.close()
            }
            let report = StoreVerifier(directory: disk.path).verify()
            #expect(report.findings.isEmpty, "\(report.findings.prefix(5))")
        }
    }

    /// `audit-trail worker` on a 1 MiB tmpfs with ~10 MB of notifications to store (about 2.5 MB
    /// compressed, store format 3): it exits
    /// non-zero naming the cause, the group's committed offsets are nowhere past what the store
    /// holds, and after the disk grows a restarted worker stores everything exactly once.
    @Test func workerOnAFullDiskExitsNonZeroCommitsNothingUndurableAndResumesOnceSpaceIsBack() async throws {
        let seed = UInt64.random(in: 1...1_000_000)
        let trail = PublishedTrail(calls: 3_000, keyed: false, seed: seed)
        print("full disk (worker): \(trail.values.count) notifications, seed \(seed)")
        let topic = "notifications.info"
        let group = TestEnvironment.uniqueName("fulldisk")
        let byID = "\(group).by-id"
        try await SmallDisk.with(size: "1m") { disk in
            // The worker's log goes next to the mount point (`<disk>.worker.log`), not onto the disk.
            let data = disk.path
            try await withMockCluster(topics: [topic: 6, byID: 6]) { cluster in
                let bootstrap = cluster.bootstrapServers
                let partitions = (0..<6).flatMap { p in [TopicPartition(topic, Int32(p)), TopicPartition(byID, Int32(p))] }
                var producerConfiguration = KafkaConfiguration(bootstrapServers: bootstrap)
                producerConfiguration.set("sticky.partitioning.linger.ms", "0")
                let producer = try Producer(configuration: producerConfiguration)
                let probe = try Consumer(configuration: TestEnvironment.consumerConfiguration(bootstrap: bootstrap, group: group))

                // 1. The disk fills: the worker stops, non-zero, and says why.
                var worker = try WorkerProcess(bootstrap: bootstrap, group: group, data: data)
                defer { worker.kill() }
                try await worker.waitUntilAssigned(partitions.count)
                for (key, value) in trail.values {
                    try await producer.enqueue(ProducerRecord(topic: topic, key: key, value: value))
                }
                #expect(try await producer.flush(timeout: .seconds(60)).failed == 0)
                let status = try await worker.waitForExit(timeout: .seconds(120))
                let log = (try? String(contentsOfFile: worker.logPath, encoding: .utf8)) ?? ""
                #expect(status != 0, "the worker went on with a full disk:\n\(worker.logTail())")
                let cause = log.split(separator: "\n").first { $0.contains(" error ") && $0.contains("No space left on device") }
                #expect(cause != nil, "no error line names the cause:\n\(worker.logTail())")
                print("full disk (worker): exit \(status): \(cause ?? "")")

                // 2. Nothing committed past what the store holds: a copy of the store, recovered
                // as a restart would, resumes at or after each committed offset, and finds no damage.
                let committed = try await probe.committed(partitions)
                let recovered = try Self.recoveredResumeOffsets(of: data, partitions: partitions)
                for tp in partitions {
                    guard let offset = committed[tp] ?? nil else { continue }
                    let resume = recovered[tp].map { $0.resume ?? 0 } ?? 0
                    #expect(offset <= resume, "\(tp): committed \(offset), the store holds up to \(resume)")
                }
                for (tp, log) in recovered {
                    #expect(log.damaged.isEmpty, "\(tp): \(log.damaged)")
                }
                print("full disk (worker): committed \(partitions.compactMap { tp in (committed[tp] ?? nil).map { "\(tp)@\($0)" } }), store \(recovered.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value.resume ?? 0) cut \($0.value.truncated)" })")

                // 3. Space is freed: a restarted worker stores everything, once.
                try disk.resize("64m")
                worker = try WorkerProcess(bootstrap: bootstrap, group: group, data: data)
                try await worker.waitUntilAssigned(partitions.count)
                // The forwarded copies reach the by-id topic after their source batch: wait until
                // the high watermarks stop moving and are durable.
                try await waitUntilEverythingDurable(probe, partitions) { try await worker.waitUntilDurable($0, timeout: .seconds(120)) }
                #expect(await worker.terminate() == 0, "the worker did not drain cleanly (\(worker.ending)):\n\(worker.logTail())")
                try await probe.close()
            }

            // 4. Every invariant from the store alone.
            #expect(try trail.mismatches(inStoreAt: data) == [])
        }
    }

    /// A notification record of about 1.5 KB at `offset`.
    private static func notification(_ offset: Int64) -> StoreRecord {
        let id = "call-\(offset / 2)"
        var bytes = Array("{\"id\":\"\(id)\",\"pad\":\"".utf8)
        var state = UInt64(offset) &* 0x9E37_79B9_7F4A_7C15 | 1
        for _ in 0..<1_500 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            bytes.append(UInt8(97 + state % 26))
        }
        bytes.append(contentsOf: Array("\"}".utf8))
        let fields = NotificationFields(id: id, eventType: offset % 2 == 0 ? .request : .response, initiatorName: "alice")
        return StoreRecord(offset: offset, timestamp: 1_700_000_000_000 + offset, body: .notification(fields, bytes: bytes))
    }

    /// What a restart would find in each log of `data`: recovered from a copy (the evidence stays
    /// as the crash left it).
    private static func recoveredResumeOffsets(of data: String, partitions: [TopicPartition]) throws
        -> [TopicPartition: (resume: Int64?, truncated: Int64, damaged: [LogWriter.DamagedJournal])]
    {
        let copy = NSTemporaryDirectory() + TestEnvironment.uniqueName("fulldisk-copy")
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.copyItem(atPath: data, toPath: copy)
        let store = try AuditStore(directory: copy)
        var result: [TopicPartition: (resume: Int64?, truncated: Int64, damaged: [LogWriter.DamagedJournal])] = [:]
        for tp in partitions where FileManager.default.fileExists(atPath: "\(copy)/\(tp.topic)/\(tp.partition)") {
            let writer = try store.openWriter(topic: tp.topic, partition: tp.partition)
            result[tp] = (writer.resumeOffset, writer.recovery.truncatedBytes, writer.recovery.damaged)
            try writer.close()
        }
        return result
    }
}

/// A tmpfs of a given size mounted on a fresh temporary directory.
struct SmallDisk {
    let path: String

    /// Whether this process may mount a tmpfs (root, or a container allowed to): tried once.
    static let canMount: Bool = {
        guard getuid() == 0 else { return false }
        guard let disk = try? SmallDisk(size: "64k") else { return false }
        disk.unmount()
        return true
    }()

    private init(size: String) throws {
        path = NSTemporaryDirectory() + TestEnvironment.uniqueName("small-disk")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Glibc.mount("tmpfs", path, "tmpfs", 0, "size=\(size),mode=0700") == 0 else {
            let code = errno
            try? FileManager.default.removeItem(atPath: path)
            throw WorkerError("mount -t tmpfs -o size=\(size) tmpfs \(path): \(String(cString: strerror(code)))")
        }
    }

    /// Mounts a tmpfs of `size` (`mount -o size=`), runs `body` with it, and unmounts it however
    /// `body` ends.
    static func with<R>(size: String, _ body: (SmallDisk) throws -> R) throws -> R {
        let disk = try SmallDisk(size: size)
        defer { disk.unmount() }
        return try body(disk)
    }

    /// ``with(size:_:)`` for an async `body`.
    static func with<R>(size: String, _ body: (SmallDisk) async throws -> R) async throws -> R {
        let disk = try SmallDisk(size: size)
        defer { disk.unmount() }
        return try await body(disk)
    }

    /// Changes the size (`mount -o remount,size=`), keeping the files.
    func resize(_ size: String) throws {
        guard Glibc.mount("tmpfs", path, "tmpfs", UInt(MS_REMOUNT), "size=\(size)") == 0 else {
            throw WorkerError("mount -o remount,size=\(size) \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Unmounts (lazily, so a file still open does not keep it) and removes the mount point.
    func unmount() {
        _ = umount2(path, Int32(MNT_DETACH))
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: path + ".worker.log")
    }
}

extension WorkerProcess {
    /// Waits until the worker exits by itself; its exit status.
    func waitForExit(timeout: Duration) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { throw WorkerError("the worker is still running after \(timeout):\n\(logTail())") }
            try await Task.sleep(for: .milliseconds(100))
        }
        return process.terminationStatus
    }
}
