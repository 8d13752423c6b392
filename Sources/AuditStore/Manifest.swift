// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

import Foundation

/// A log's manifest (FORMAT.md §7): its sealed segments in order, with their digests, and the
/// epoch of the writer that last took the log over. Replaced atomically (temporary file, fsync,
/// rename, fsync of the directory).
///
/// Public for the object-store tier (`AuditArchive`), which uploads the segments a manifest
/// lists and keeps a copy of the manifest beside them.
public struct Manifest: Codable, Equatable, Sendable {
    /// One sealed segment.
    public struct Segment: Codable, Equatable, Sendable {
        public var base: Int64
        public var next: Int64
        public var records: Int
        public var blocks: Int
        public var minTime: Int64
        public var maxTime: Int64
        public var segmentBytes: Int64
        public var indexBytes: Int64
        /// Hex chain head after the segment's last block.
        public var chainHead: String
        /// Hex `segmentDigest` (FORMAT.md §5.3).
        public var digest: String
        public var signed: Bool
    }

    public static let fileName = "MANIFEST"
    static let format = 1

    public var format = Manifest.format
    public var topic: String
    public var partition: Int32
    public var epoch: Int64
    public var segments: [Segment] = []
    /// Where the log starts when its first segments were removed by retention (the object
    /// store's tombstone, DESIGN §9): the chain and offsets go on from here. Absent otherwise.
    public var retired: Retired?

    /// The end of the segments retention removed.
    public struct Retired: Codable, Equatable, Sendable {
        /// The offset after the last removed segment.
        public var next: Int64
        /// Hex chain head after the last removed segment.
        public var chainHead: String

        public init(next: Int64, chainHead: String) {
            self.next = next
            self.chainHead = chainHead
        }
    }

    /// An empty manifest.
    public init(topic: String, partition: Int32, epoch: Int64, segments: [Segment] = []) {
        self.topic = topic
        self.partition = partition
        self.epoch = epoch
        self.segments = segments
    }

    /// The offset after the last sealed segment, if any.
    public var sealedNext: Int64? { segments.last?.next ?? retired?.next }

    /// Reads `<directory>/MANIFEST`; `nil` when there is none yet.
    public static func read(directory: String) throws(StoreError) -> Manifest? {
        let path = directory + "/" + fileName
        let bytes: [UInt8]
        do {
            bytes = try StoreFile.openForReading(path).readAll()
        } catch where error.code == .notFound {
            return nil
        }
        do {
            let manifest = try JSONDecoder().decode(Manifest.self, from: Data(bytes))
            guard manifest.format == format else {
                throw StoreError(.corrupt, "\(path): unknown manifest format \(manifest.format)")
            }
            return manifest
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.corrupt, "\(path): \(error)")
        }
    }

    /// Replaces `<directory>/MANIFEST` atomically and durably.
    public func write(directory: String) throws(StoreError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(self) } catch { throw StoreError(.invalidArgument, "manifest: \(error)") }
        try Directory.writeAtomically(Array(data), to: directory + "/" + Self.fileName, directory: directory)
    }
}

/// File names of a log directory (FORMAT.md §1): 20-digit zero-padded base offsets.
public enum LogFiles {
    /// `<base, 20 digits><suffix>`.
    public static func name(_ base: Int64, _ suffix: String) -> String {
        let digits = String(base)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    public static let segment = ".seg"
    public static let index = ".idx"
    public static let journal = ".journal"
    static let lock = "LOCK"

    /// The base offset a file name starts with, if it is one of ours with `suffix`.
    public static func base(of name: String, suffix: String) -> Int64? {
        guard name.hasSuffix(suffix), name.count == 20 + suffix.count else { return nil }
        return Int64(name.prefix(20))
    }

    /// `<data>/<topic>/<partition>`.
    public static func logDirectory(data: String, topic: String, partition: Int32) -> String {
        "\(data)/\(topic)/\(partition)"
    }
}
