// AuditTrail — object store
// SPDX-License-Identifier: Apache-2.0

/// Where a trail lives in S3: `s3://BUCKET/PREFIX`.
public struct S3Location: Sendable, Hashable, CustomStringConvertible {
    /// The bucket's name.
    public var bucket: String
    /// The key prefix: empty, or ending in exactly one `/`.
    public var prefix: String

    /// Parses `s3://BUCKET` or `s3://BUCKET/PREFIX`; a prefix gets one trailing `/`
    /// (`s3://b/trail` and `s3://b/trail/` are the same location).
    ///
    /// - Throws: ``ObjectStoreError/configuration(_:)`` for another scheme or an empty bucket.
    public init(_ text: String) throws {
        guard text.hasPrefix("s3://") else {
            throw ObjectStoreError.configuration("object store location \"\(text)\" does not start with s3://")
        }
        let rest = text.dropFirst("s3://".count)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else {
            throw ObjectStoreError.configuration("object store location \"\(text)\" names no bucket")
        }
        var prefix = String(rest.dropFirst(bucket.count))
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        while prefix.hasSuffix("//") { prefix.removeLast() }
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        self.bucket = String(bucket)
        self.prefix = prefix
    }

    /// The full key of `relative` under this location's prefix.
    public func key(_ relative: String) -> String { prefix + relative }

    public var description: String { "s3://\(bucket)/\(prefix)" }
}
