// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

import Foundation

/// A log's manifest (FORMAT.md §7): its sealed segments in order, with their digests, and the
/// epoch of the writer that last took the log over. Replaced atomically (temporary file, fsync,
/// rename, fsync of the directory).
struct Manifest: Codable, Equatable {
    /// One sealed segment.
    struct Segment: Codable, Equatable {
        var base: Int64
        var next: Int64
        var records: Int
        var blocks: Int
        var minTime: Int64
        var maxTime: Int64
        var segmentBytes: Int64
        var indexBytes: Int64
        var chainHead: String
        var digest: String
        var signed: Bool
    }

    static let fileName = "MANIFEST"
    static let format = 1

    var format = Manifest.format
    var topic: String
    var partition: Int32
    var epoch: Int64
    var segments: [Segment] = []

    /// The offset after the last sealed segment, if any.
    var sealedNext: Int64? { segments.last?.next }

    /// Reads `<directory>/MANIFEST`; `nil` when there is none yet.
    static func read(directory: String) throws(StoreError) -> Manifest? {
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
    func write(directory: String) throws(StoreError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(self) } catch { throw StoreError(.invalidArgument, "manifest: \(error)") }
        try Directory.writeAtomically(Array(data), to: directory + "/" + Self.fileName, directory: directory)
    }
}

/// File names of a log directory (FORMAT.md §1): 20-digit zero-padded base offsets.
enum LogFiles {
    static func name(_ base: Int64, _ suffix: String) -> String {
        let digits = String(base)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + suffix
    }

    static let segment = ".seg"
    static let index = ".idx"
    static let journal = ".journal"
    static let lock = "LOCK"

    /// The base offset a file name starts with, if it is one of ours with `suffix`.
    static func base(of name: String, suffix: String) -> Int64? {
        guard name.hasSuffix(suffix), name.count == 20 + suffix.count else { return nil }
        return Int64(name.prefix(20))
    }

    /// `<data>/<topic>/<partition>`.
    static func logDirectory(data: String, topic: String, partition: Int32) -> String {
        "\(data)/\(topic)/\(partition)"
    }
}
