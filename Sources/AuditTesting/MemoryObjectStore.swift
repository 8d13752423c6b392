// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

import Foundation
import ObjectStore
import Synchronization

/// An ``ObjectStore`` in memory, with S3's semantics where the trail depends on them: conditions
/// checked atomically with the write (unlike moto, so racing writers can be tested), ETags that
/// are the content's quoted MD5, listings in key order, deletes that succeed on missing keys.
///
/// For unit tests of the object-store tier that need neither a server nor the network.
/// ``failNextWrites(_:)`` makes writes fail as a store outage would, and ``writes`` counts them.
public final class MemoryObjectStore: ObjectStore {
    private struct Entry {
        var bytes: [UInt8]
        var etag: String
        var lastModified: Date
    }

    private struct State {
        var objects: [String: Entry] = [:]
        var failingWrites = 0
        var writes = 0
    }

    private let state = Mutex(State())

    /// Creates an empty store.
    public init() {}

    /// Write attempts (puts, uploads, deletes) so far, refused and failed ones included.
    public var writes: Int { state.withLock { $0.writes } }

    /// Every key in the store, in key order.
    public var keys: [String] {
        state.withLock { $0.objects.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
    }

    /// Makes the next `count` writes (puts, uploads, deletes) throw a transport error without
    /// writing, as an unreachable store would.
    public func failNextWrites(_ count: Int) {
        state.withLock { $0.failingWrites = count }
    }

    /// Replaces or removes an object behind every writer's back (a tamperer, or an operator),
    /// without conditions.
    public func set(_ key: String, bytes: [UInt8]?) {
        state.withLock { state in
            state.objects[key] = bytes.map { Self.entry($0) }
        }
    }

    private static func entry(_ bytes: [UInt8]) -> Entry {
        Entry(bytes: bytes, etag: "\"\(SigV4Signer.hex(S3Client.md5(bytes)))\"", lastModified: Date())
    }

    public func put(_ key: String, bytes: [UInt8], condition: WriteCondition) async throws -> String {
        try state.withLock { state in
            state.writes += 1
            if state.failingWrites > 0 {
                state.failingWrites -= 1
                throw ObjectStoreError.transport(key: key, cause: ObjectStoreError.io(path: key, message: "injected"))
            }
            switch condition {
            case .none: break
            case .absent:
                guard state.objects[key] == nil else { throw ObjectStoreError.preconditionFailed(key: key) }
            case .matches(let etag):
                guard let current = state.objects[key], current.etag == etag else {
                    throw ObjectStoreError.preconditionFailed(key: key)
                }
            }
            let entry = Self.entry(bytes)
            state.objects[key] = entry
            return entry.etag
        }
    }

    public func upload(_ key: String, file path: String, condition: WriteCondition) async throws -> String {
        let bytes: [UInt8]
        do {
            bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ObjectStoreError.io(path: path, message: "\(error)")
        }
        return try await put(key, bytes: bytes, condition: condition)
    }

    public func get(_ key: String) async throws -> StoredObject? {
        state.withLock { state in state.objects[key].map { StoredObject(bytes: $0.bytes, etag: $0.etag) } }
    }

    public func get(_ key: String, range: Range<Int64>) async throws -> [UInt8]? {
        guard let bytes = state.withLock({ $0.objects[key]?.bytes }) else { return nil }
        let lower = Int(min(max(range.lowerBound, 0), Int64(bytes.count)))
        let upper = Int(min(max(range.upperBound, Int64(lower)), Int64(bytes.count)))
        return Array(bytes[lower..<upper])
    }

    public func download(_ key: String, to path: String) async throws -> Bool {
        guard let stored = try await get(key) else { return false }
        do {
            try Data(stored.bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ObjectStoreError.io(path: path, message: "\(error)")
        }
        return true
    }

    public func head(_ key: String) async throws -> ObjectInfo? {
        state.withLock { state in
            state.objects[key].map {
                ObjectInfo(key: key, size: Int64($0.bytes.count), etag: $0.etag, lastModified: $0.lastModified)
            }
        }
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        state.withLock { state in
            state.objects.filter { $0.key.hasPrefix(prefix) }
                .map {
                    ObjectInfo(
                        key: $0.key, size: Int64($0.value.bytes.count), etag: $0.value.etag,
                        lastModified: $0.value.lastModified)
                }
                .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        }
    }

    public func delete(_ key: String) async throws {
        try state.withLock { state in
            state.writes += 1
            if state.failingWrites > 0 {
                state.failingWrites -= 1
                throw ObjectStoreError.transport(key: key, cause: ObjectStoreError.io(path: key, message: "injected"))
            }
            state.objects[key] = nil
        }
    }
}
