// AuditTrail — object-store tier
// SPDX-License-Identifier: Apache-2.0

public import AuditStore
import Dispatch
import Foundation
import ObjectStore
import Synchronization

/// The bounded local cache through which readers read sealed segments in an object store.
///
/// A reader of an object-store trail has the bucket's manifests on disk (``ArchiveMirror``) and
/// asks here for the segments they list (``RemoteSegments``):
///
/// - An **index** (`.idx`) is fetched whole on first use and kept as a file.
/// - A **segment** (`.seg`) is read in aligned chunks of ``chunkSize`` bytes, each fetched
///   with one ranged GET on first use and kept as a file: a query reads the segment header and
///   the blocks its index rows point to, not the whole segment.
/// - Files are evicted least recently used first once the cache holds more than ``limit``
///   bytes. The bound holds between reads: a read larger than the bound keeps its bytes in
///   memory, and a reader that has a file open keeps reading it after its eviction.
/// - `verify` reads each segment whole, once, past the cache (``wholeSegment(topic:partition:segment:)``).
///
/// Cached files are named by the segment's content digest, like the objects, so a cached chunk
/// is never stale. Several processes may share the directory: a file another one evicted is
/// fetched again. Reads block the calling thread while they fetch (the store's readers are
/// synchronous, like its file I/O); the fetch itself runs on a thread of its own, never waiting
/// for the cooperative pool.
public final class SegmentCache: RemoteSegments, Sendable {
    public let archive: Archive
    /// The cache's files: `<topic>/<partition>/<base>-<digest>.idx` and `….seg.<chunk>`.
    public let directory: String
    /// Bytes of cached files above which the least recently used go.
    public let limit: Int64
    /// The unit of a segment read from the bucket (1 MiB unless a test says otherwise).
    public let chunkSize: Int64

    /// What the cache did since it opened.
    public struct Statistics: Sendable, Equatable {
        /// Files fetched from the bucket (chunks and indexes), and their bytes.
        public var fetched = 0
        public var fetchedBytes: Int64 = 0
        /// Reads served from a cached file.
        public var hits = 0
        /// Files evicted to stay within the bound.
        public var evicted = 0
        /// Bytes of cached files now.
        public var bytes: Int64 = 0
    }

    private struct Entry {
        var size: Int64
        var used: UInt64
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var clock: UInt64 = 0
        var statistics = Statistics()
    }

    private let state: Mutex<State>
    private let executor = ThreadTaskExecutor(label: "audit.archive.cache")

    /// Opens the cache in `directory` (created if missing), accounting for the files already
    /// there, oldest first, and trimming them to `limit`.
    public init(archive: Archive, directory: String, limit: Int64, chunkSize: Int64 = 1 << 20) throws {
        self.archive = archive
        self.directory = directory
        self.limit = limit
        self.chunkSize = chunkSize
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var found: [(path: String, size: Int64, time: Date)] = []
        let files = FileManager.default
        for case let relative as String in files.enumerator(atPath: directory) ?? NSEnumerator() {
            let path = directory + "/" + relative
            guard let attributes = try? files.attributesOfItem(atPath: path),
                attributes[.type] as? FileAttributeType == .typeRegular
            else { continue }
            if relative.contains(".part-") {
                // A fetch cut short by a crash.
                try? files.removeItem(atPath: path)
                continue
            }
            found.append((path, (attributes[.size] as? NSNumber)?.int64Value ?? 0, attributes[.modificationDate] as? Date ?? .distantPast))
        }
        var initial = State()
        for file in found.sorted(by: { $0.time < $1.time }) {
            initial.clock += 1
            initial.entries[file.path] = Entry(size: file.size, used: initial.clock)
            initial.statistics.bytes += file.size
        }
        state = Mutex(initial)
        state.withLock { Self.evict(&$0, limit: limit, keeping: nil) }
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    // MARK: - RemoteSegments

    public func index(topic: String, partition: Int32, segment: Manifest.Segment) throws(StoreError) -> [UInt8]? {
        let key = archive.layout.segment(
            topic: topic, partition: partition, base: segment.base, digest: segment.digest, suffix: LogFiles.index)
        let path = localPath(topic: topic, partition: partition, segment: segment) + LogFiles.index
        if let bytes = cached(path, length: segment.indexBytes) { return bytes }
        let store = archive.store
        guard let object = try blocking({ try await store.get(key) }) else { return nil }
        try keep(object.bytes, at: path)
        return object.bytes
    }

    public func segment(topic: String, partition: Int32, segment: Manifest.Segment) throws(StoreError) -> (any ByteSource)? {
        CachedSegment(
            cache: self, key: archive.layout.segment(
                topic: topic, partition: partition, base: segment.base, digest: segment.digest, suffix: LogFiles.segment),
            path: localPath(topic: topic, partition: partition, segment: segment) + LogFiles.segment,
            size: segment.segmentBytes)
    }

    public func wholeSegment(topic: String, partition: Int32, segment: Manifest.Segment) throws(StoreError) -> [UInt8]? {
        let key = archive.layout.segment(
            topic: topic, partition: partition, base: segment.base, digest: segment.digest, suffix: LogFiles.segment)
        let store = archive.store
        guard let object = try blocking({ try await store.get(key) }) else { return nil }
        state.withLock {
            $0.statistics.fetched += 1
            $0.statistics.fetchedBytes += Int64(object.bytes.count)
        }
        return object.bytes
    }

    // MARK: - Housekeeping

    /// Removes cached files of segments no manifest lists any more (retention removed them).
    /// - Parameter listed: `(topic, partition, segment)` of every listed segment.
    public func prune(keeping listed: [(topic: String, partition: Int32, segment: Manifest.Segment)]) {
        let stems = Set(listed.map { localPath(topic: $0.topic, partition: $0.partition, segment: $0.segment) })
        state.withLock { state in
            for (path, entry) in state.entries {
                // `<dir>/<base>-<digest>` of `<dir>/<base>-<digest>.idx|.seg.<chunk>`.
                let slash = path.lastIndex(of: "/") ?? path.startIndex
                let stem = path[..<slash] + path[slash...].prefix { $0 != "." }
                guard !stems.contains(String(stem)) else { continue }
                try? FileManager.default.removeItem(atPath: path)
                state.entries[path] = nil
                state.statistics.bytes -= entry.size
            }
        }
    }

    /// `<directory>/<topic>/<partition>/<base>-<digest>` (a suffix follows).
    private func localPath(topic: String, partition: Int32, segment: Manifest.Segment) -> String {
        "\(directory)/\(topic)/\(partition)/\(ArchiveLayout.padded(segment.base))-\(segment.digest.prefix(32))"
    }

    // MARK: - Chunks

    /// `length` bytes of chunk `number` of the segment object `key`, from the cache or fetched.
    fileprivate func chunk(_ number: Int64, of key: String, path: String, length: Int64) throws(StoreError) -> [UInt8] {
        let chunkPath = "\(path).\(number)"
        if let bytes = cached(chunkPath, length: length) { return bytes }
        let start = number * chunkSize
        let store = archive.store
        guard let bytes = try blocking({ try await store.get(key, range: start..<(start + length)) }) else {
            throw StoreError(.notFound, "\(key): named by the manifest, not in the object store")
        }
        guard bytes.count == Int(length) else {
            throw StoreError(.corrupt, "\(key): \(bytes.count) bytes at \(start), the manifest's size needs \(length)")
        }
        try keep(bytes, at: chunkPath)
        return bytes
    }

    /// The bytes of a cached file of the expected length; `nil` if it is not cached (or was
    /// evicted by another process, or is not whole).
    private func cached(_ path: String, length: Int64) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path), data.count == Int(length) else { return nil }
        state.withLock { state in
            state.clock += 1
            if state.entries[path] == nil {
                state.entries[path] = Entry(size: length, used: state.clock)
                state.statistics.bytes += length
            } else {
                state.entries[path]!.used = state.clock
            }
            state.statistics.hits += 1
        }
        return [UInt8](data)
    }

    /// Writes a fetched file into the cache (temporary name, then rename) and evicts to the bound.
    private func keep(_ bytes: [UInt8], at path: String) throws(StoreError) {
        let directory = String(path[..<path.lastIndex(of: "/")!])
        let temporary = "\(path).part-\(UInt64.random(in: 0...UInt64.max))"
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown)
            }
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw StoreError(.io, "object-store cache: cannot write \(path): \(error)")
        }
        let size = Int64(bytes.count)
        state.withLock { state in
            state.clock += 1
            if let old = state.entries[path] { state.statistics.bytes -= old.size }
            state.entries[path] = Entry(size: size, used: state.clock)
            state.statistics.bytes += size
            state.statistics.fetched += 1
            state.statistics.fetchedBytes += size
            Self.evict(&state, limit: limit, keeping: path)
        }
    }

    /// Removes least recently used files until the cache is within `limit` (never `keeping`).
    private static func evict(_ state: inout State, limit: Int64, keeping: String?) {
        while state.statistics.bytes > limit {
            guard let (path, entry) = state.entries.filter({ $0.key != keeping }).min(by: { $0.value.used < $1.value.used }) else {
                return
            }
            try? FileManager.default.removeItem(atPath: path)
            state.entries[path] = nil
            state.statistics.bytes -= entry.size
            state.statistics.evicted += 1
        }
    }

    /// Runs `body` to completion on the cache's own executor and waits for it: a synchronous
    /// reader may call this from any thread, the cooperative pool's included.
    private func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws(StoreError) -> T {
        let outcome = Outcome<T>()
        let done = DispatchSemaphore(value: 0)
        Task(executorPreference: executor) {
            do {
                outcome.result = .success(try await body())
            } catch {
                outcome.result = .failure(error)
            }
            done.signal()
        }
        done.wait()
        switch outcome.result! {
        case .success(let value): return value
        case .failure(let error): throw StoreError(.io, "object store: \(error)")
        }
    }
}

/// The result of a fetch ``SegmentCache`` waits for: written by the fetching task before it
/// signals, read by the waiting thread after.
private final class Outcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}

/// A segment object read through a ``SegmentCache``, chunk by chunk.
private final class CachedSegment: ByteSource {
    let cache: SegmentCache
    let key: String
    let path: String
    let size: Int64

    init(cache: SegmentCache, key: String, path: String, size: Int64) {
        self.cache = cache
        self.key = key
        self.path = path
        self.size = size
    }

    func read(count: Int, at offset: Int64) throws(StoreError) -> [UInt8] {
        let end = min(size, offset + Int64(count))
        guard offset < end else { return [] }
        var out: [UInt8] = []
        out.reserveCapacity(Int(end - offset))
        var number = offset / cache.chunkSize
        while number * cache.chunkSize < end {
            let start = number * cache.chunkSize
            let bytes = try cache.chunk(number, of: key, path: path, length: min(cache.chunkSize, size - start))
            out += bytes[Int(max(offset, start) - start)..<Int(min(end, start + Int64(bytes.count)) - start)]
            number += 1
        }
        return out
    }
}
