// AuditTrail — object-store tier
// SPDX-License-Identifier: Apache-2.0

/// Where a trail's objects live in a bucket (DESIGN §9, FORMAT.md §10):
///
/// ```
/// <prefix>/<topic>/<partition>/LEASE                          the owner's lease (conditional puts)
/// <prefix>/<topic>/<partition>/MANIFEST                       the uploaded segments, in log order
/// <prefix>/<topic>/<partition>/segments/<base>-<digest>.seg   a sealed segment (immutable)
/// <prefix>/<topic>/<partition>/segments/<base>-<digest>.idx   its index (immutable)
/// <prefix>/<topic>/<partition>/checkpoints/<epoch>-<time>.json  a signed checkpoint
/// <prefix>/<topic>/<partition>/tombstones/<next>.json          a signed retention tombstone
/// ```
///
/// `<base>`, `<next>`, `<epoch>` and `<time>` are 20-digit zero-padded decimals, so keys list in
/// log order; `<digest>` is the segment's digest (hex), so a key names its content and a
/// segment uploaded twice is the same object.
public struct ArchiveLayout: Sendable, Hashable {
    /// The key prefix (no leading or trailing slash; may be empty).
    public let prefix: String

    public init(prefix: String) {
        var trimmed = Substring(prefix)
        while trimmed.hasPrefix("/") { trimmed = trimmed.dropFirst() }
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        self.prefix = String(trimmed)
    }

    /// `<prefix>/` (or empty).
    public var root: String { prefix.isEmpty ? "" : prefix + "/" }

    /// `<prefix>/<topic>/<partition>/`.
    public func log(topic: String, partition: Int32) -> String { "\(root)\(topic)/\(partition)/" }

    public func lease(topic: String, partition: Int32) -> String { log(topic: topic, partition: partition) + "LEASE" }

    public func manifest(topic: String, partition: Int32) -> String {
        log(topic: topic, partition: partition) + "MANIFEST"
    }

    /// The key of a sealed segment's file (`suffix` `.seg` or `.idx`).
    public func segment(topic: String, partition: Int32, base: Int64, digest: String, suffix: String) -> String {
        log(topic: topic, partition: partition) + "segments/\(Self.padded(base))-\(digest.prefix(32))\(suffix)"
    }

    public func checkpoints(topic: String, partition: Int32) -> String {
        log(topic: topic, partition: partition) + "checkpoints/"
    }

    public func checkpoint(topic: String, partition: Int32, epoch: Int64, time: Int64) -> String {
        checkpoints(topic: topic, partition: partition) + "\(Self.padded(epoch))-\(Self.padded(time)).json"
    }

    public func tombstones(topic: String, partition: Int32) -> String {
        log(topic: topic, partition: partition) + "tombstones/"
    }

    public func tombstone(topic: String, partition: Int32, next: Int64) -> String {
        tombstones(topic: topic, partition: partition) + "\(Self.padded(next)).json"
    }

    /// The (topic, partition) of a `MANIFEST` key of this layout, if it is one.
    public func logOfManifest(_ key: String) -> (topic: String, partition: Int32)? {
        guard key.hasPrefix(root), key.hasSuffix("/MANIFEST") else { return nil }
        let parts = key.dropFirst(root.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, let partition = Int32(parts[1]) else { return nil }
        return (String(parts[0]), partition)
    }

    static func padded(_ value: Int64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }
}
