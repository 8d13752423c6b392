// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// What ``StoreVerifier`` found.
public struct VerifyReport: Sendable {
    /// One problem, with where it is.
    public struct Finding: Sendable, Hashable, CustomStringConvertible {
        /// What is wrong.
        public var code: Code
        /// The log.
        public var topic: String
        /// The log's partition.
        public var partition: Int32
        /// The file involved, if one is.
        public var file: String?
        /// Byte position in ``file``, when known.
        public var position: Int64?
        /// Source offset involved, when known.
        public var offset: Int64?
        /// Source offsets involved, when a finding covers a range (from ``offset``).
        public var offsets: Range<Int64>?
        /// Human detail.
        public var message: String

        /// A finding (for checks made beside ``StoreVerifier``, such as the object store's).
        public init(
            code: Code, topic: String, partition: Int32, file: String? = nil, position: Int64? = nil,
            offset: Int64? = nil, offsets: Range<Int64>? = nil, message: String
        ) {
            self.code = code
            self.topic = topic
            self.partition = partition
            self.file = file
            self.position = position
            self.offset = offset
            self.offsets = offsets
            self.message = message
        }

        public var description: String {
            var place = "\(topic)/\(partition)"
            if let file { place += " \(file)" }
            if let position { place += " @\(position)" }
            if let offsets {
                place += " offsets \(offsets.lowerBound)..<\(offsets.upperBound)"
            } else if let offset {
                place += " offset \(offset)"
            }
            return "\(code): \(place): \(message)"
        }
    }

    /// Kinds of findings.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// Bytes differ from what the digests and hashes say.
        public static let alteredBytes = Code("alteredBytes")
        /// A file ends early or does not parse to its end.
        public static let truncated = Code("truncated")
        /// A segment or journal does not link to the chain head before it.
        public static let brokenChain = Code("brokenChain")
        /// A segment the manifest names is not there.
        public static let missingSegment = Code("missingSegment")
        /// A segment, index or journal file the manifest does not account for.
        public static let extraFile = Code("extraFile")
        /// A segment holds another log's or another position's data.
        public static let misplacedSegment = Code("misplacedSegment")
        /// Source offsets are not contiguous (a skipped offset not recorded as a broker gap).
        public static let skippedOffset = Code("skippedOffset")
        /// An index disagrees with its segment.
        public static let indexMismatch = Code("indexMismatch")
        /// The manifest disagrees with a segment, or does not parse.
        public static let manifestMismatch = Code("manifestMismatch")
        /// A signature does not verify, or a required one is missing.
        public static let badSignature = Code("badSignature")
        /// The active journal is damaged, not torn: bytes changed, cut out or inserted before its
        /// end (FORMAT.md §4). ``Finding/position`` is the first failing frame, ``Finding/offsets``
        /// the source offsets affected. The next writer sets the file aside and resumes there.
        public static let damagedJournal = Code("damagedJournal")
        /// A damaged journal that recovery set aside (`<base>.journal.damaged-<epoch>`): the log
        /// went on without the offsets it covered after the damage, consumed again from Kafka.
        /// Reported until an operator examines and removes it from the data directory.
        public static let setAsideJournal = Code("setAsideJournal")
        /// A forwarded notification whose copy was not stored and will not arrive: lost
        /// until `audit-trail repair` fetches it again from its source offset (DESIGN §6.8).
        public static let lostForward = Code("lostForward")
        /// The data ends before what a signed checkpoint of the log's owner says was durable or
        /// sealed: a cut journal tail, a removed newest segment, or a manifest replaced by an older
        /// one (the object store's checkpoints, DESIGN §9).
        public static let behindCheckpoint = Code("behindCheckpoint")
        /// A checkpoint or tombstone whose signature does not verify, or that does not parse.
        public static let badCheckpoint = Code("badCheckpoint")
        /// A segment the retention removed without its signed tombstone, or inside the range
        /// that must be retained.
        public static let retentionGap = Code("retentionGap")
        public var description: String { name }
    }

    /// Problems found; empty when the store verifies.
    public var findings: [Finding] = []
    /// Offset ranges the broker no longer had (recorded gap records): accepted, and reported.
    public var brokerGaps: [(topic: String, partition: Int32, offsets: Range<Int64>)] = []
    /// Where each log ends: its next offset and the last link of its chain. Removing a log's
    /// newest segments *together with* their manifest entries leaves a shorter but consistent
    /// log; only a comparison with an anchor kept elsewhere (the Kafka committed offset, a chain
    /// head published by the worker) shows it. These are the values to compare.
    public var heads: [LogHead] = []
    /// Forwarded notifications whose copy a worker has not stored *yet* (its by-id log has not
    /// reached the copy's offset): not a finding while workers run; a stopped store should have none.
    public var copiesInFlight: [HopAccount.Unstored] = []
    /// Forwarded notifications in the store, and how many of their copies are stored.
    public var forwarded = 0
    public var copiesStored = 0
    /// Logs checked.
    public var logs = 0
    /// Sealed segments checked.
    public var segments = 0
    /// Records checked (sealed and journal).
    public var records = 0
    /// Bytes of a journal's torn tail (a crash mid-write; the next writer cuts it): not an error.
    public var tornTailBytes: Int64 = 0
    /// Records of whole version 4 journal entries above their log's resume offset (a lower
    /// offset still waits in the writer's pair window, FORMAT.md §4.3): durable, but neither
    /// readable nor in ``records`` yet. Not an error: the writer places them in order, and a
    /// recovery drops them for Kafka to deliver again, since their offsets were never committed.
    public var recordsAboveResume = 0

    /// The end of one log.
    public struct LogHead: Sendable, Hashable {
        /// The log's topic.
        public var topic: String
        /// The log's partition.
        public var partition: Int32
        /// The offset after the log's last record (`nil` for an empty log).
        public var nextOffset: Int64?
        /// Hex SHA-256 chain head after the last block or journal frame.
        public var chainHead: String
    }

    /// Whether nothing is wrong.
    public var isValid: Bool { findings.isEmpty }
}
