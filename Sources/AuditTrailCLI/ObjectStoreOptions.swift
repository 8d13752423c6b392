// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditArchive
import AuditStore
import Foundation
import ObjectStore
import Synchronization

/// `--object-store s3://BUCKET/PREFIX` and `--s3-endpoint URL`: where the trail's sealed segments
/// live beyond this machine (DESIGN §9). Credentials and region come from `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` and `AWS_REGION`.
struct ObjectStoreOptions: ParsableArguments {
    @Option(help: "Object store of the trail: s3://BUCKET/PREFIX (credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION).")
    var objectStore: String?

    @Option(help: "S3 endpoint for stores other than AWS (MinIO, Ceph RGW), e.g. http://127.0.0.1:9000.")
    var s3Endpoint: String?

    /// The object store, if one is named; `body` runs with it and the client is shut down after.
    func withArchive<T>(signer: SegmentSigner?, _ body: (Archive?) async throws -> T) async throws -> T {
        guard objectStore != nil else { return try await body(nil) }
        let (client, archive) = try open(signer: signer)
        do {
            let result = try await body(archive)
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// A client of the named object store (`--object-store` must be set), and the trail in it.
    /// Shut the client down after its last request (or keep it for the process).
    func open(signer: SegmentSigner?) throws -> (S3Client, Archive) {
        do {
            let location = try S3Location(objectStore ?? "")
            let configuration = try S3Configuration.fromEnvironment(endpoint: s3Endpoint)
            let client = try S3Client(location: location, configuration: configuration)
            return (client, Archive(store: client, layout: ArchiveLayout(prefix: location.prefix), signer: signer))
        } catch {
            throw ValidationError("--object-store: \(error)")
        }
    }
}

/// Reader commands on an object-store trail: the bucket's manifests are brought into a local
/// cache (a data directory), and the command reads that; the segments they list are fetched on
/// demand into the cache's bounded block store (``ArchiveMirror``, ``SegmentCache``).
struct ArchiveCacheOptions: ParsableArguments {
    @OptionGroup var store: ObjectStoreOptions

    @Option(help: "With --object-store: the local cache of the trail's manifests, indexes and segment blocks (default ~/.cache/audit-trail/<bucket>/<prefix>).")
    var cache: String?

    @Option(help: "With --object-store: the most the cache keeps of indexes and segment blocks, least recently used going first (e.g. 512MiB, 4GiB).")
    var cacheSize = "1GiB"

    var isSet: Bool { store.objectStore != nil }

    /// The cache directory for `--object-store`.
    func cacheDirectory() throws -> String {
        if let cache { return cache }
        let location = try S3Location(store.objectStore ?? "")
        let home = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"]
            ?? (NSHomeDirectory() + "/.cache")
        return "\(home)/audit-trail/\(location.bucket)/\(location.prefix)"
    }

    /// The data directory a reader reads: `data`, or with `--object-store` the cache's, its
    /// manifests brought in line with the bucket first. Exactly one of the two must be given.
    func dataDirectory(data: String?) async throws -> String {
        guard isSet else {
            guard let data else { throw ValidationError("give --data DIR, or --object-store s3://BUCKET/PREFIX") }
            return data
        }
        guard data == nil else { throw ValidationError("give --data or --object-store, not both") }
        return try await mirror().dataDirectory
    }

    /// The data directory ``dataDirectory(data:)`` returns, without syncing.
    var dataPath: String? { isSet ? (try? cacheDirectory()).map { $0 + "/logs" } : nil }

    /// The object-store trail's cache, its manifests brought in line with the bucket.
    @discardableResult
    func mirror() async throws -> ArchiveMirror {
        let mirror = try open()
        var progress = Progress("object store: logs synced", total: nil)
        var synced = 0
        try await mirror.sync { done, _ in
            synced = done
            progress.update(done)
        }
        progress.finish(synced)
        return mirror
    }

    /// The cache, opened once per process: its client stays open while readers fetch through it.
    func open() throws -> ArchiveMirror {
        let directory = try cacheDirectory()
        guard let limit = ByteText.parse(cacheSize), limit > 0 else {
            throw ValidationError("--cache-size: give a size such as 512MiB or 4GiB")
        }
        return try Self.opened.withLock { opened in
            if let mirror = opened[directory] { return mirror }
            let (_, archive) = try store.open(signer: nil)
            let mirror = try ArchiveMirror(archive: archive, directory: directory, cacheBytes: limit)
            opened[directory] = mirror
            return mirror
        }
    }

    private static let opened = Mutex<[String: ArchiveMirror]>([:])
}

/// Durations as operators write them: `90s`, `15m`, `1h`, `400d` (a bare number is seconds).
enum DurationText {
    static func parse(_ text: String) -> Duration? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let last = text.last else { return nil }
        let (digits, unit) = units[last].map { (text.dropLast(), $0) } ?? (Substring(text), 1)
        guard let value = Int64(digits), value >= 0 else { return nil }
        return .seconds(value * unit)
    }
}

/// Byte sizes as operators write them: `256MiB`, `64KiB`, `1GiB` (a bare number is bytes).
enum ByteText {
    static func parse(_ text: String) -> Int64? {
        for (suffix, shift) in [("KiB", 10), ("MiB", 20), ("GiB", 30)] as [(String, Int64)] where text.hasSuffix(suffix) {
            return Int64(text.dropLast(suffix.count)).map { $0 << shift }
        }
        return Int64(text)
    }
}

/// `--signing-key`: an Ed25519 private key as 64 hex digits, or a file holding them (or its 32
/// raw bytes).
enum SigningKey {
    static func signer(_ text: String) throws -> SegmentSigner {
        do {
            return try SegmentSigner(privateKey: try VerifyCommand.publicKey(text))
        } catch {
            throw ValidationError("--signing-key: an Ed25519 private key as 64 hex digits, or a file holding them (\(error))")
        }
    }
}
