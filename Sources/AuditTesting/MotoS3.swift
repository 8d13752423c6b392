// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

import AuditArchive
import Foundation
import ObjectStore
import Synchronization

/// moto's S3 server (`moto[server]` from PyPI, in the interop venv) as a subprocess on a free
/// loopback port, with one bucket created: the object store of the object-store tests.
///
/// Each instance is its own server with its own empty state, so tests don't share buckets.
/// Startup takes about a second (the python import); the server is killed by ``stop()``, or by
/// ``withMotoS3(bucket:_:)`` at the end of its body.
///
/// - Important: moto checks `If-Match` / `If-None-Match` without a lock: two conditional writes
///   racing inside moto may both succeed. Fencing tests must order their writes.
public final class MotoS3: @unchecked Sendable {
    /// The port the server listens on (127.0.0.1).
    public let port: Int
    /// `http://127.0.0.1:<port>`.
    public var endpoint: String { "http://127.0.0.1:\(port)" }
    /// The bucket created at startup.
    public let bucket: String
    /// moto takes any credentials (it checks no signature); these are sent.
    public static let credentials = S3Credentials(accessKeyID: "moto-test-key", secretAccessKey: "moto-test-secret")
    /// The server's log (its stdout and stderr), kept for a failing test to read.
    public let logPath: String

    private let lock = NSLock()
    private var process: Process?

    /// A configuration for this server: path-style, `us-east-1`, the test credentials, and quick
    /// retries (a test that exhausts them fails in well under a second).
    public var configuration: S3Configuration {
        S3Configuration(
            endpoint: endpoint, region: "us-east-1", credentials: Self.credentials, pathStyle: true,
            retry: S3RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200)),
            connectTimeout: .seconds(2), ioTimeout: .seconds(30))
    }

    /// The variables a subprocess (a worker) needs to reach this server with
    /// `--s3-endpoint` ``endpoint``.
    public var environment: [String: String] {
        [
            "AWS_ACCESS_KEY_ID": Self.credentials.accessKeyID,
            "AWS_SECRET_ACCESS_KEY": Self.credentials.secretAccessKey, "AWS_REGION": "us-east-1",
        ]
    }

    private init(port: Int, bucket: String, logPath: String, process: Process) {
        self.port = port
        self.bucket = bucket
        self.logPath = logPath
        self.process = process
    }

    deinit { stop() }

    /// The venv's python, found once per test process (`interop/setup-venv.sh` checks imports).
    private static let python = Mutex<URL?>(nil)

    private static func pythonPath() throws -> URL {
        if let known = python.withLock({ $0 }) { return known }
        let found = try Interop.python()
        python.withLock { $0 = found }
        return found
    }

    /// Runs `moto.server` on 127.0.0.1:`argv[1]`, and exits once its parent is gone (reparented),
    /// so a test process that crashes or is killed leaves no server behind.
    private static let launcher = """
        import os, runpy, sys, threading, time
        parent = os.getppid()
        def watch():
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
        sys.argv = ["moto.server", "-H", "127.0.0.1", "-p", sys.argv[1]]
        runpy.run_module("moto.server", run_name="__main__", alter_sys=True)
        """

    /// Starts a server and creates `bucket` in it.
    ///
    /// - Throws: ``Interop/Failure`` when the venv cannot be built or the server does not answer
    ///   within 30 s (its log is quoted).
    public static func start(bucket: String = "audit-trail") async throws -> MotoS3 {
        let python = try pythonPath()
        var lastLog = ""
        for _ in 0..<3 {
            let port = TestEnvironment.freePort()
            let logPath = NSTemporaryDirectory() + "moto-\(port)-\(UInt32.random(in: 0...UInt32.max)).log"
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)  // opening it reports a failure
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            let process = Process()
            process.executableURL = python
            process.arguments = ["-c", launcher, "\(port)"]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = log
            process.standardError = log
            try process.run()
            try? log.close()
            let moto = MotoS3(port: port, bucket: bucket, logPath: logPath, process: process)
            if try await moto.waitUntilReady() { return moto }
            moto.stop()
            lastLog = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        }
        throw Interop.Failure("moto's S3 server did not start: \(lastLog.suffix(2000))")
    }

    /// Creates the bucket once the server answers; `false` when the process died (the port was
    /// taken meanwhile) or 30 s passed.
    private func waitUntilReady() async throws -> Bool {
        var probe = configuration
        probe.retry = S3RetryPolicy(maxAttempts: 1)
        probe.connectTimeout = .seconds(1)
        let client = try S3Client(bucket: bucket, configuration: probe)
        let ready: Bool
        do {
            ready = try await createBucket(client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try? await client.shutdown()
        return ready
    }

    private func createBucket(_ client: S3Client) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            guard isRunning else { return false }
            do {
                try await client.createBucket()
                return true
            } catch ObjectStoreError.transport {
                // Not listening yet: the interpreter is still importing. No event to await here.
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        return false
    }

    /// Kills the server (SIGKILL) and waits for it to exit. Idempotent.
    public func stop() {
        let process = lock.withLock {
            defer { self.process = nil }
            return self.process
        }
        guard let process else { return }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: logPath)
    }

    /// Whether the server process is still running.
    public var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }
}

/// Runs `body` with a fresh moto S3 server holding an empty `bucket`, then kills the server.
public func withMotoS3<T>(bucket: String = "audit-trail", _ body: (MotoS3) async throws -> T) async throws -> T {
    let moto = try await MotoS3.start(bucket: bucket)
    defer { moto.stop() }
    return try await body(moto)
}

/// Runs `body` with a fresh moto S3 server and a client bound to its bucket; shuts both down after.
public func withMotoS3Client<T>(
    bucket: String = "audit-trail", configure: (inout S3Configuration) -> Void = { _ in },
    _ body: (S3Client, MotoS3) async throws -> T
) async throws -> T {
    try await withMotoS3(bucket: bucket) { moto in
        var configuration = moto.configuration
        configure(&configuration)
        return try await withS3Client(bucket: moto.bucket, configuration: configuration) { try await body($0, moto) }
    }
}

extension MotoS3 {
    /// Runs `body` with the data directory of the trail under `prefix` in this server's bucket,
    /// read as every reader reads an object-store trail: the manifests synced into a fresh
    /// cache, the segments fetched on demand within `cacheBytes`.
    public func withTrail<T>(prefix: String, cacheBytes: Int64 = 1 << 30, _ body: (String) throws -> T) async throws -> T {
        try await withS3Client(bucket: bucket, configuration: configuration) { client in
            let directory = NSTemporaryDirectory() + "bucket-trail-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let archive = Archive(store: client, layout: ArchiveLayout(prefix: prefix), signer: nil)
            let mirror = try ArchiveMirror(archive: archive, directory: directory, cacheBytes: cacheBytes)
            defer { mirror.close() }
            try await mirror.sync()
            return try body(mirror.dataDirectory)
        }
    }
}
