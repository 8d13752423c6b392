// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditArchive
import AuditStore
import Foundation
import ObjectStore

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
        guard let objectStore else { return try await body(nil) }
        let location: S3Location
        let client: S3Client
        do {
            location = try S3Location(objectStore)
            let configuration = try S3Configuration.fromEnvironment(endpoint: s3Endpoint)
            client = try S3Client(location: location, configuration: configuration)
        } catch {
            throw ValidationError("--object-store: \(error)")
        }
        let archive = Archive(store: client, layout: ArchiveLayout(prefix: location.prefix), signer: signer)
        do {
            let result = try await body(archive)
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

/// Reader commands on an object-store trail: the bucket is mirrored into a local cache (a data
/// directory) first, and the command reads that.
struct ArchiveCacheOptions: ParsableArguments {
    @OptionGroup var store: ObjectStoreOptions

    @Option(help: "With --object-store: the local cache of the trail's segments and indexes (default ~/.cache/audit-trail/<bucket>/<prefix>).")
    var cache: String?

    var isSet: Bool { store.objectStore != nil }

    /// The cache directory for `--object-store`.
    func cacheDirectory() throws -> String {
        if let cache { return cache }
        let location = try S3Location(store.objectStore ?? "")
        let home = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"]
            ?? (NSHomeDirectory() + "/.cache")
        return "\(home)/audit-trail/\(location.bucket)/\(location.prefix)"
    }

    /// The data directory a reader reads: `data`, or with `--object-store` the cache, mirrored
    /// from the bucket first. Exactly one of the two must be given.
    func dataDirectory(data: String?) async throws -> String {
        guard isSet else {
            guard let data else { throw ValidationError("give --data DIR, or --object-store s3://BUCKET/PREFIX") }
            return data
        }
        guard data == nil else { throw ValidationError("give --data or --object-store, not both") }
        try await mirror()
        return try cacheDirectory()
    }

    /// Mirrors the bucket's logs into the cache directory (a data directory): what their
    /// manifests list, fetching only files the cache does not hold yet.
    func mirror() async throws {
        let directory = try cacheDirectory()
        try await store.withArchive(signer: nil) { archive in
            let mirror = ArchiveMirror(archive: archive!, directory: directory)
            var progress = Progress("object store: logs mirrored", total: nil)
            var mirrored = 0
            let report = try await mirror.sync { done, _ in
                mirrored = done
                progress.update(done)
            }
            progress.finish(mirrored)
            if !report.missing.isEmpty {
                printError("object store: \(report.missing.count) object(s) a manifest lists are missing (verify reports them): \(report.missing.prefix(3).joined(separator: ", "))")
            }
        }
    }
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
