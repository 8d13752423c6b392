// AuditTrail — object store
// SPDX-License-Identifier: Apache-2.0

import Foundation

/// A condition on a write, checked by the store atomically with the write.
///
/// This is how one owner per log is fenced (DESIGN.md §9): a new owner takes a log with
/// ``absent`` and moves it on with ``matches(_:)``; a zombie's write then fails with
/// ``ObjectStoreError/preconditionFailed(key:)`` instead of overwriting the new owner's object.
public enum WriteCondition: Sendable, Hashable {
    /// Write unconditionally.
    case none
    /// Write only if no object exists under the key (`If-None-Match: *`).
    case absent
    /// Write only if the current object's ETag is this one (`If-Match: <etag>`).
    case matches(String)
}

/// What a listing or a HEAD tells about one object.
public struct ObjectInfo: Sendable, Hashable {
    /// The full key inside the bucket.
    public var key: String
    /// The object's size in bytes.
    public var size: Int64
    /// The object's ETag as the store sent it (S3 quotes it: `"9b2c…"`); pass it unchanged to
    /// ``WriteCondition/matches(_:)``.
    public var etag: String
    /// When the object was last written, as the store tells it (second precision).
    public var lastModified: Date

    /// Creates an object description.
    public init(key: String, size: Int64, etag: String, lastModified: Date) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// A whole object read into memory.
public struct StoredObject: Sendable, Hashable {
    /// The object's bytes.
    public var bytes: [UInt8]
    /// The object's ETag, as in ``ObjectInfo/etag``.
    public var etag: String

    /// Creates a stored object.
    public init(bytes: [UInt8], etag: String) {
        self.bytes = bytes
        self.etag = etag
    }
}

/// A bucket of immutable objects with conditional writes: what the trail needs from S3.
///
/// Keys are full keys inside the bucket (use ``S3Location/key(_:)`` to put a location's prefix
/// in front). Every method retries transient failures (5xx, 409, transport errors) itself;
/// what it throws is final.
public protocol ObjectStore: Sendable {
    /// Writes an object from memory.
    ///
    /// - Parameters:
    ///   - key: the object's full key.
    ///   - bytes: the object's content.
    ///   - condition: checked by the store atomically with the write.
    /// - Returns: the new object's ETag.
    /// - Throws: ``ObjectStoreError/preconditionFailed(key:)`` when the condition does not hold
    ///   (412: fenced; never retried), ``ObjectStoreError/conflict(key:)`` when a 409 persisted
    ///   through the retries, ``ObjectStoreError/http(status:code:message:key:)`` and
    ///   ``ObjectStoreError/transport(key:cause:)`` otherwise.
    func put(_ key: String, bytes: [UInt8], condition: WriteCondition) async throws -> String

    /// Writes an object from a local file, in parts above the multipart threshold, reading one
    /// part at a time.
    ///
    /// - Returns: the new object's ETag.
    /// - Throws: as ``put(_:bytes:condition:)``, and ``ObjectStoreError/io(path:message:)`` when the
    ///   file cannot be read.
    func upload(_ key: String, file path: String, condition: WriteCondition) async throws -> String

    /// Reads a whole object into memory.
    ///
    /// - Returns: the object, or `nil` when there is none under the key (404).
    func get(_ key: String) async throws -> StoredObject?

    /// Reads a byte range of an object.
    ///
    /// - Returns: the bytes in `range` (fewer when the object ends inside it), or `nil` when there is
    ///   no object under the key (404).
    func get(_ key: String, range: Range<Int64>) async throws -> [UInt8]?

    /// Streams an object into a local file: written beside `path` under a temporary name, synced,
    /// then renamed over `path`, so `path` never holds a partial object.
    ///
    /// - Returns: `false` when there is no object under the key (404); `path` is then untouched.
    func download(_ key: String, to path: String) async throws -> Bool

    /// Describes an object without reading it.
    ///
    /// - Returns: the object's description, or `nil` when there is none under the key.
    func head(_ key: String) async throws -> ObjectInfo?

    /// Lists every object whose key starts with `prefix`, across all pages, in key order.
    func list(prefix: String) async throws -> [ObjectInfo]

    /// Deletes an object. Deleting a missing object succeeds.
    func delete(_ key: String) async throws
}
