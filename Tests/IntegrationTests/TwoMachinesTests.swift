// AuditTrail — integration tests
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import AuditTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kafka
import Testing

/// Two worker processes, each with its own data directory ("machine"), one bucket (moto's S3
/// server) and one consumer group (DESIGN §9). Machine A is killed with SIGKILL and its
/// directory deleted; B takes over every partition and continues A's logs from the bucket. The
/// bucket alone must then hold every notification once, and verify clean.
@Suite(.timeLimit(.minutes(10)))
struct TwoMachinesTests {
    @Test func machineALostWithItsDiskLosesNothingFromTheBucket() async throws {
        let topic = "notifications.info"
        let group = TestEnvironment.uniqueName("machines")
        let byID = "\(group).by-id"
        let temporary = FileManager.default.temporaryDirectory.path
        let dataA = temporary + "/" + TestEnvironment.uniqueName("machine-a")
        let dataB = temporary + "/" + TestEnvironment.uniqueName("machine-b")
        let cache = temporary + "/" + TestEnvironment.uniqueName("bucket-cache")
        defer { for path in [dataA, dataB, cache] { try? FileManager.default.removeItem(atPath: path) } }
        // Unkeyed, as oslo.messaging publishes: both halves of a call cross the by-id topic.
        let trail = PublishedTrail(calls: 3_000, keyed: false, seed: 19)
        let signer = SegmentSigner.generate()
        let keyFile = temporary + "/" + TestEnvironment.uniqueName("signing-key")
        try signer.privateKey.map { String(format: "%02x", $0) }.joined().write(toFile: keyFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: keyFile) }

        try await withMotoS3 { moto in
            let location = "s3://\(moto.bucket)/trail"
            let archive = [
                "--object-store", location, "--s3-endpoint", moto.endpoint, "--signing-key", keyFile,
                // Small segments and frequent checkpoints, so both happen during the run.
                "--segment-bytes", "256KiB", "--checkpoint-interval", "1s",
            ]
            try await withMockCluster(topics: [topic: 4, byID: 4]) { cluster in
                let bootstrap = cluster.bootstrapServers
                let partitions = (0..<4).flatMap { p in [TopicPartition(topic, Int32(p)), TopicPartition(byID, Int32(p))] }
                var producerConfiguration = KafkaConfiguration(bootstrapServers: bootstrap)
                producerConfiguration.set("sticky.partitioning.linger.ms", "0")
                let producer = try Producer(configuration: producerConfiguration)
                let probe = try Consumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
                func publish(_ range: Range<Int>) async throws {
                    for (key, value) in trail.values[range] {
                        try await producer.enqueue(ProducerRecord(topic: topic, key: key, value: value))
                    }
                    #expect(try await producer.flush(timeout: .seconds(60)).failed == 0)
                }
                let third = trail.values.count / 3

                let a = try WorkerProcess(bootstrap: bootstrap, group: group, data: dataA, arguments: archive, environment: moto.environment)
                defer { a.kill() }
                try await a.waitUntilAssigned(partitions.count)
                try await publish(0..<third)
                try await waitUntilEverythingDurable(probe, partitions) { try await a.waitUntilDurable($0, timeout: .seconds(120)) }

                // B joins: the group splits the partitions; A seals and uploads the ones it
                // gives up, B continues them from the bucket.
                let b = try WorkerProcess(bootstrap: bootstrap, group: group, data: dataB, arguments: archive, environment: moto.environment)
                defer { b.kill() }
                try await b.waitUntil("both machines own partitions") { metrics in
                    guard let mine = metrics["audit_assigned_partitions"], mine > 0, mine < Int64(partitions.count) else { return false }
                    return true
                }
                try await publish(third..<(2 * third))
                try await Task.sleep(for: .seconds(3))  // A stores part of it in journals only

                // Machine A is lost with its disk: what it had not sealed and uploaded exists
                // nowhere but in Kafka, which B consumes again from the bucket's end of each log.
                a.kill()
                try FileManager.default.removeItem(atPath: dataA)
                try await b.waitUntilAssigned(partitions.count)
                try await publish((2 * third)..<trail.values.count)
                try await waitUntilEverythingDurable(probe, partitions) { try await b.waitUntilDurable($0, timeout: .seconds(180)) }
                try await probe.close()
                // SIGTERM: B seals and uploads its active segments before it leaves the group.
                #expect(await b.terminate() == 0, "B did not drain cleanly (\(b.ending)):\n\(b.logTail())")
                let log = (try? String(contentsOfFile: b.logPath, encoding: .utf8)) ?? ""
                #expect(log.contains("continuing the object store's log"), "B never took over a log from the bucket:\n\(b.logTail())")
                // repair reads the bucket too: nothing forwarded is missing from it.
                let repair = try Interop.run(
                    TestEnvironment.auditTrailExecutable,
                    ["repair", "--object-store", location, "--s3-endpoint", moto.endpoint, "--cache", cache + "-repair",
                     "--brokers", bootstrap, "--group", group],
                    environment: moto.environment)
                try? FileManager.default.removeItem(atPath: cache + "-repair")
                #expect(repair.status == 0, "\(repair.stdout)\n\(repair.stderr)")
                #expect(repair.stdout.contains("repair: 0 lost cop(ies) forwarded again, 0 no longer in Kafka"), "\(repair.stdout)")
            }

            // From the bucket alone (B's directory is gone too): every notification once, and
            // verify clean, signatures and checkpoints included.
            try FileManager.default.removeItem(atPath: dataB)
            let hex = signer.publicKey.map { String(format: "%02x", $0) }.joined()
            let verify = try Interop.run(
                TestEnvironment.auditTrailExecutable,
                ["verify", "--object-store", location, "--s3-endpoint", moto.endpoint, "--cache", cache, "--cache-size", "512KiB", "--key", hex],
                environment: moto.environment)
            #expect(verify.status == 0, "verify of the bucket failed:\n\(verify.stdout)\n\(verify.stderr)")
            #expect(verify.stdout.contains("checkpoint(s)"))
            #expect(try await moto.withTrail(prefix: "trail", cacheBytes: 512 << 10) { try trail.mismatches(inStoreAt: $0) } == [])
            // The readers read the bucket too, through a cache smaller than the trail.
            let stats = try Interop.run(
                TestEnvironment.auditTrailExecutable,
                ["stats", "--object-store", location, "--s3-endpoint", moto.endpoint, "--cache", cache, "--cache-size", "512KiB"],
                environment: moto.environment)
            #expect(stats.status == 0, "\(stats.stdout)\n\(stats.stderr)")
            let query = try Interop.run(
                TestEnvironment.auditTrailExecutable,
                [
                    "query", "--object-store", location, "--s3-endpoint", moto.endpoint, "--cache", cache, "--cache-size", "512KiB",
                    "--json", "--limit", "100000",
                ],
                environment: moto.environment)
            #expect(query.status == 0, "\(query.stderr)")
            let calls = query.stdout.split(separator: "\n").count
            #expect(calls == 3_000)
            let cached = TestEnvironment.bytesOfFiles(under: cache + "/blocks")
            #expect(cached > 0 && cached <= 512 << 10, "the cache holds \(cached) bytes")

            // And `serve` serves the bucket's trail: the same calls over HTTP.
            let tokens = temporary + "/" + TestEnvironment.uniqueName("tokens")
            try Data("{\"token\": \"admin\", \"cloud_admin\": true}\n".utf8).write(to: URL(fileURLWithPath: tokens))
            defer { try? FileManager.default.removeItem(atPath: tokens) }
            let port = TestEnvironment.freePort()
            let server = Process()
            server.executableURL = TestEnvironment.auditTrailExecutable
            server.arguments = [
                "serve", "--object-store", location, "--s3-endpoint", moto.endpoint, "--cache", cache + "-serve",
                "--tokens", tokens, "--port", String(port),
            ]
            server.environment = ProcessInfo.processInfo.environment.merging(moto.environment) { $1 }
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle.nullDevice
            try server.run()
            defer {
                if server.isRunning { server.terminate() }
                try? FileManager.default.removeItem(atPath: cache + "-serve")
            }
            var served: [[String: Any]]?
            for _ in 0..<300 where served == nil {
                var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/calls?limit=100000")!)
                request.setValue("admin", forHTTPHeaderField: "X-Auth-Token")
                if let (body, response) = try? await URLSession.shared.data(for: request),
                    (response as? HTTPURLResponse)?.statusCode == 200
                {
                    served = (try JSONSerialization.jsonObject(with: body) as? [String: Any])?["calls"] as? [[String: Any]]
                } else {
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(served?.count == 3_000)
            server.terminate()
            server.waitUntilExit()
            #expect(server.terminationStatus == 0)
        }
    }

    /// Split brain: two workers in two groups both believe they own every partition. The second
    /// claims each log's lease in the bucket; from then on every put of the first fails, so it
    /// stops with an error instead of publishing a manifest, segment or checkpoint that readers
    /// would accept, and the bucket still holds every notification once.
    @Test func anOwnerWhoseLeaseWasTakenStopsAndPublishesNothingReadersAccept() async throws {
        let topic = "notifications.info"
        let temporary = FileManager.default.temporaryDirectory.path
        let dataA = temporary + "/" + TestEnvironment.uniqueName("zombie-a")
        let dataB = temporary + "/" + TestEnvironment.uniqueName("zombie-b")
        let cache = temporary + "/" + TestEnvironment.uniqueName("zombie-cache")
        defer { for path in [dataA, dataB, cache] { try? FileManager.default.removeItem(atPath: path) } }
        // Keyed (as AuditClient publishes): no by-id hop, so the two groups share only the source logs.
        let trail = PublishedTrail(calls: 2_000, keyed: true, seed: 23)
        let groupA = TestEnvironment.uniqueName("zombie-a")
        let groupB = TestEnvironment.uniqueName("zombie-b")
        try await withMotoS3 { moto in
            let location = "s3://\(moto.bucket)/trail"
            let archive = [
                "--object-store", location, "--s3-endpoint", moto.endpoint, "--segment-bytes", "64KiB",
                "--checkpoint-interval", "1s",
            ]
            try await withMockCluster(topics: [topic: 2, "\(groupA).by-id": 2, "\(groupB).by-id": 2]) { cluster in
                let bootstrap = cluster.bootstrapServers
                let partitions = (0..<2).map { TopicPartition(topic, Int32($0)) }
                let producer = try Producer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
                let probe = try Consumer(configuration: KafkaConfiguration(bootstrapServers: bootstrap))
                func publish(_ range: Range<Int>) async throws {
                    for (key, value) in trail.values[range] {
                        try await producer.enqueue(ProducerRecord(topic: topic, key: key, value: value))
                    }
                    #expect(try await producer.flush(timeout: .seconds(60)).failed == 0)
                }
                let half = trail.values.count / 2
                let a = try WorkerProcess(
                    bootstrap: bootstrap, group: groupA, data: dataA, arguments: archive,
                    environment: moto.environment)
                defer { a.kill() }
                try await a.waitUntil("A owns every partition") { $0["audit_assigned_partitions"] == 4 }
                try await publish(0..<half)
                try await a.waitUntil("A uploaded a segment") { ($0["audit_archive_uploaded_segments_total"] ?? 0) > 0 }

                let b = try WorkerProcess(
                    bootstrap: bootstrap, group: groupB, data: dataB, arguments: archive,
                    environment: moto.environment)
                defer { b.kill() }
                try await b.waitUntil("B owns every partition") { $0["audit_assigned_partitions"] == 4 }
                try await publish(half..<trail.values.count)
                // A's next checkpoint or upload meets B's lease: it stops with an error.
                let status = await a.exitStatus(timeout: .seconds(60))
                #expect(status == 1, "A did not stop on its taken lease:\n\(a.logTail())")
                let logA = (try? String(contentsOfFile: a.logPath, encoding: .utf8)) ?? ""
                #expect(logA.contains("fenced"), "\(a.logTail())")
                try await waitUntilEverythingDurable(probe, partitions) { try await b.waitUntilDurable($0, timeout: .seconds(120)) }
                try await probe.close()
                #expect(await b.terminate() == 0, "B did not drain cleanly (\(b.ending)):\n\(b.logTail())")
            }
            let verify = try Interop.run(
                TestEnvironment.auditTrailExecutable,
                ["verify", "--object-store", location, "--s3-endpoint", moto.endpoint, "--cache", cache], environment: moto.environment)
            #expect(verify.status == 0, "verify of the bucket failed:\n\(verify.stdout)\n\(verify.stderr)")
            #expect(try await moto.withTrail(prefix: "trail") { try trail.mismatches(inStoreAt: $0) } == [])
        }
    }
}
