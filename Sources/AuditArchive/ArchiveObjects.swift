// AuditTrail — object-store tier
// SPDX-License-Identifier: Apache-2.0

public import AuditStore
import Foundation

/// A log's lease (`LEASE`): who owns the log and since which epoch. An owner takes a log by a
/// conditional put of the next epoch (`If-None-Match: *` for a new log, `If-Match` on the lease
/// it read otherwise) and renews it the same way before each checkpoint, so a put of an owner
/// whose lease was taken fails (412) and it stops: fencing by the object store, never a clock.
public struct Lease: Codable, Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    public var epoch: Int64
    public var owner: String
    /// Milliseconds since the epoch when this owner took or last renewed the lease (for people:
    /// nothing decides by it).
    public var renewedAt: Int64
}

/// The object store's manifest of a log (`MANIFEST`): the uploaded sealed segments in log order,
/// the owners' tenures, and where retention left the log. Uploaded after the segments it lists
/// (so a segment object it does not list is an unfinished upload or a fenced owner's), by the
/// owner only, each time with `If-Match` on the version it wrote last.
public struct ArchiveManifest: Codable, Sendable, Equatable {
    public static let format = 1

    /// Where one owner's tenure began.
    public struct Tenure: Codable, Sendable, Equatable {
        /// The lease epoch.
        public var epoch: Int64
        public var owner: String
        /// The log's sealed end when the tenure began: the new owner consumed again from here.
        public var base: Int64
    }

    /// What retention removed from the front of the log (see ``Tombstone``).
    public struct Retired: Codable, Sendable, Equatable {
        /// The offset after the last removed segment: the log starts here now.
        public var next: Int64
        /// Hex chain head after the last removed segment: the first kept segment links to it.
        public var chainHead: String
        /// The tombstone's key.
        public var tombstone: String
    }

    public var format = ArchiveManifest.format
    public var topic: String
    public var partition: Int32
    /// The lease epoch of the owner that wrote this version.
    public var epoch: Int64
    public var tenures: [Tenure] = []
    public var retired: Retired?
    public var segments: [Manifest.Segment] = []

    public init(topic: String, partition: Int32, epoch: Int64) {
        self.topic = topic
        self.partition = partition
        self.epoch = epoch
    }

    /// The offset after the last uploaded segment (or the retired range), if any.
    public var sealedNext: Int64? { segments.last?.next ?? retired?.next }
}

/// What an owner states at a moment, signed (DESIGN §9, as CloudTrail's digest files): every
/// offset before `durableOffset` was durable on its disk, and the log's sealed segments ended at
/// `sealedNext` with chain head `sealedChainHead`. A verifier compares the data with the newest
/// checkpoints: a cut journal tail, a removed newest segment or a manifest replaced by an older
/// one then shows, where files alone look like a crash.
public struct Checkpoint: Codable, Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    /// The lease epoch of the owner that wrote it.
    public var epoch: Int64
    public var owner: String
    /// Milliseconds since the Unix epoch.
    public var time: Int64
    /// The owner's durable resume offset (sealed segments and the journal's whole frames).
    public var durableOffset: Int64?
    /// The end of the sealed segments the owner had uploaded, and their chain head (hex).
    public var sealedNext: Int64?
    public var sealedChainHead: String?
}

/// What retention removed: the sealed segments before `next`, whose last chain head was
/// `chainHead`. The log's chain and offsets verify from here on (DESIGN §9).
public struct Tombstone: Codable, Sendable, Equatable {
    public var topic: String
    public var partition: Int32
    /// First offset of the first removed segment.
    public var from: Int64
    /// The offset after the last removed segment.
    public var next: Int64
    public var chainHead: String
    /// Digests (hex) of the removed segments, in order.
    public var digests: [String]
    public var removedAt: Int64
    /// The retention age, milliseconds.
    public var retainMilliseconds: Int64
    public var epoch: Int64
}

/// A JSON document signed with the store's Ed25519 key: the payload is kept as the exact text
/// that was signed, so a verifier checks the signature over those bytes, then parses them.
public struct Signed<Payload: Codable & Sendable>: Sendable {
    public var payload: Payload
    /// The payload's JSON text, as signed.
    public var text: String
    /// Hex Ed25519 signature of `text`'s UTF-8 bytes, and the key's public part (hex); empty
    /// when the store has no signing key.
    public var signature: String
    public var publicKey: String

    struct Envelope: Codable {
        var payload: String
        var signature: String
        var publicKey: String
    }

    /// Signs `payload` with `signer` (unsigned when `nil`).
    public init(_ payload: Payload, signer: SegmentSigner?) throws {
        self.payload = payload
        text = String(decoding: try ArchiveJSON.encode(payload), as: UTF8.self)
        if let signer {
            signature = try signer.sign(Array(text.utf8)).hex
            publicKey = signer.publicKey.hex
        } else {
            signature = ""
            publicKey = ""
        }
    }

    /// Parses an envelope.
    public init(bytes: [UInt8]) throws {
        let envelope = try JSONDecoder().decode(Envelope.self, from: Data(bytes))
        text = envelope.payload
        signature = envelope.signature
        publicKey = envelope.publicKey
        payload = try JSONDecoder().decode(Payload.self, from: Data(text.utf8))
    }

    public func bytes() throws -> [UInt8] {
        try ArchiveJSON.encode(Envelope(payload: text, signature: signature, publicKey: publicKey))
    }

    /// Whether it is signed by `publicKey` (raw 32 bytes).
    public func isSigned(by publicKey: [UInt8]) -> Bool {
        guard let signature = [UInt8](hex: signature) else { return false }
        return SegmentSigner.isValid(signature: signature, digest: Array(text.utf8), publicKey: publicKey)
    }
}

enum ArchiveJSON {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw ArchiveError.malformed("\(what): \(error)")
        }
    }
}

/// Why the object-store tier refused or failed.
public enum ArchiveError: Error, CustomStringConvertible {
    /// Another owner took the log (a conditional put failed with 412): this one must stop.
    case fenced(String)
    /// An object does not parse.
    case malformed(String)
    /// The local log and the object store disagree in a way that needs an operator.
    case diverged(String)

    public var description: String {
        switch self {
        case .fenced(let detail): "fenced: \(detail)"
        case .malformed(let detail): "malformed object: \(detail)"
        case .diverged(let detail): "diverged: \(detail)"
        }
    }
}
