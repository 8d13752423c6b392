// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

public import AuditStore
#if canImport(Glibc)
import Glibc
#endif

/// Imports files written by oslo.messaging's `log` notification driver into a store.
///
/// Each file becomes one log, topic `import.<file name>` (characters other than letters, digits,
/// `.`, `_` and `-` become `_`), partition 0, whose offsets are the file's line numbers from 0:
/// every line gets a record, so the log stays contiguous and `verify` proves no line was skipped.
/// A notification line (logger `oslo.messaging.notification.*`) is decoded and validated as
/// the worker does: a valid one is stored with the line's bytes exactly (without its line
/// break), a bad one quarantined with them; any other line of the file (a service's own log
/// output) is kept as a skipped marker. A redelivered copy (same id, event type and bytes) is a
/// duplicate marker. Importing a file again continues after the lines already imported, so an
/// interrupted import resumes and a finished one adds nothing.
public struct LogImport: Sendable {
    /// What importing a file did.
    public struct Summary: Sendable, Equatable {
        public var notifications = 0
        public var quarantined = 0
        /// Lines that are not notifications.
        public var otherLines = 0
        public var duplicates = 0
        /// Lines imported by an earlier run, not read again.
        public var alreadyImported = 0
        /// The log the file went to.
        public var topic = ""
    }

    public var dataDirectory: String
    public var storeOptions = StoreOptions()

    /// An importer into the store at `dataDirectory`.
    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    /// The log topic a file imports into.
    public static func topic(forFile path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return "import." + String(name.unicodeScalars.map { scalar in
            let allowed = scalar.properties.isAlphabetic && scalar.isASCII || ("0"..."9").contains(scalar) || ".-_".unicodeScalars.contains(scalar)
            return allowed ? Character(scalar) : "_"
        })
    }

    /// Imports one file; `progress` gets the lines done so far.
    /// - Throws: ``StoreError`` (``StoreError/Code/io`` when the file cannot be read).
    public func importFile(_ path: String, progress: (Int) -> Void = { _ in }) throws -> Summary {
        guard let file = fopen(path, "rb") else { throw StoreError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        var summary = Summary(topic: Self.topic(forFile: path))
        let writer = try AuditStore(directory: dataDirectory, options: storeOptions).openWriter(topic: summary.topic, partition: 0)
        defer { try? writer.close() }
        let resume = writer.nextOffset ?? 0
        var keeper = try RecordKeeper()
        // Each record with the content hash of its bytes where the keeper took one.
        var batch: [(StoreRecord, ContentHash?)] = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        var number: Int64 = 0
        defer { free(line) }
        while true {
            let length = getline(&line, &capacity, file)
            guard length >= 0, let line else { break }
            defer { number += 1 }
            var end = length
            while end > 0, line[end - 1] == 0x0A || line[end - 1] == 0x0D { end -= 1 }
            let bytes = [UInt8](UnsafeRawBufferPointer(start: line, count: end))
            if number < resume {
                // Stored by an earlier run: read again only so a later copy is still a duplicate.
                if Self.isNotificationLine(bytes) { _ = keeper.record(bytes, offset: number, timestamp: nil) }
                summary.alreadyImported += 1
                continue
            }
            if Self.isNotificationLine(bytes) {
                let (record, kept, hash) = keeper.record(bytes, offset: number, timestamp: nil)
                switch kept {
                case .notification: summary.notifications += 1
                case .duplicate: summary.duplicates += 1
                case .skipped: summary.otherLines += 1
                case .quarantined: summary.quarantined += 1
                }
                batch.append((record, hash))
            } else {
                summary.otherLines += 1
                batch.append((StoreRecord(offset: number, timestamp: -1, body: .skipped(eventType: "log line")), nil))
            }
            if batch.count == 4096 {
                try writer.append(batch.map(\.0), hashes: batch.map(\.1))
                batch.removeAll(keepingCapacity: true)
                progress(Int(number + 1))
            }
        }
        if ferror(file) != 0 { throw StoreError(.io, "reading \(path) failed at line \(number + 1)") }
        try writer.append(batch.map(\.0), hashes: batch.map(\.1))
        try writer.sync()
        progress(Int(number))
        return summary
    }

    /// Whether the line was written by a notification logger (`oslo.messaging.notification.*`,
    /// named near the start of the line): such a line is kept whole even when it does not decode.
    static func isNotificationLine(_ bytes: [UInt8]) -> Bool {
        let logger = Array(" oslo.messaging.notification.".utf8)
        let limit = min(bytes.count, 300)
        guard limit >= logger.count else { return false }
        for start in 0...(limit - logger.count) where bytes[start] == 0x20 {
            if bytes[start..<start + logger.count].elementsEqual(logger) { return true }
        }
        return false
    }
}
