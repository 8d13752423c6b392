// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// One record of a log: exactly one per consumed source offset (a ``Body/gap`` covers a range).
///
/// Every consumed offset of a log gets a record, so that the verifier can prove the offsets of
/// a log contiguous (DESIGN §5, §6.1). Notification and quarantine records keep the bytes exactly
/// as received; the others are markers.
public struct StoreRecord: Sendable, Hashable {
    /// The source offset of this record in its log's (topic, partition); for a gap, its first
    /// missing offset.
    public var offset: Int64
    /// The Kafka record timestamp, milliseconds since the epoch (-1 when the broker gave none).
    public var timestamp: Int64
    /// Where the notification was first consumed, for records of the group's by-id topic.
    public var origin: Origin?
    /// What the record holds.
    public var body: Body

    /// Creates a record.
    public init(offset: Int64, timestamp: Int64, origin: Origin? = nil, body: Body) {
        self.offset = offset
        self.timestamp = timestamp
        self.origin = origin
        self.body = body
    }

    /// What a record holds.
    public enum Body: Sendable, Hashable {
        /// An audit notification: the exact bytes as received, plus the fields the index needs.
        indirect case notification(NotificationFields, bytes: [UInt8])
        /// Bad input: the exact bytes, a reason code (e.g. `notJSON`) and human detail.
        case quarantined(reason: String, detail: String, bytes: [UInt8])
        /// A non-audit notification, counted but not kept: its event type only.
        case skipped(eventType: String)
        /// An unkeyed notification re-keyed onto the group's by-id topic: where it went, and
        /// where the broker wrote the copy (from its delivery report), so the copy can be
        /// accounted for until it is stored (DESIGN §6.8). Markers written before the position
        /// was recorded have none.
        case forwarded(topic: String, key: String, copy: CopyPosition? = nil)
        /// Offsets the broker no longer had, `offset..<to`: recorded so verify accepts and reports them.
        case gap(to: Int64)
    }

    /// The record's kind.
    public var kind: Kind {
        switch body {
        case .notification: .notification
        case .quarantined: .quarantined
        case .skipped: .skipped
        case .forwarded: .forwarded
        case .gap: .gap
        }
    }

    /// The source offset after this record (a gap's end).
    public var nextOffset: Int64 {
        if case .gap(let to) = body { return to }
        return offset + 1
    }

    /// The notification's fields, for notification records.
    public var fields: NotificationFields? {
        if case .notification(let fields, _) = body { return fields }
        return nil
    }

    /// The stored bytes (notification or quarantined records), exactly as received.
    public var bytes: [UInt8]? {
        switch body {
        case .notification(_, let bytes), .quarantined(_, _, let bytes): bytes
        default: nil
        }
    }

    /// The kind of a record, as stored (one byte).
    public enum Kind: UInt8, Sendable, Hashable, CaseIterable {
        /// ``Body/notification(_:bytes:)``
        case notification = 1
        /// ``Body/quarantined(reason:detail:bytes:)``
        case quarantined = 2
        /// ``Body/skipped(eventType:)``
        case skipped = 3
        /// ``Body/forwarded(topic:key:)``
        case forwarded = 4
        /// ``Body/gap(to:)``
        case gap = 5
    }
}

/// Where the broker wrote a forwarded copy: a partition and offset of the by-id topic.
public struct CopyPosition: Sendable, Hashable {
    /// The by-id topic's partition.
    public var partition: Int32
    /// The copy's offset in that partition.
    public var offset: Int64

    /// Creates a position.
    public init(partition: Int32, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }
}

/// Where a by-id topic record was first consumed.
public struct Origin: Sendable, Hashable {
    /// The source topic.
    public var topic: String
    /// The source partition.
    public var partition: Int32
    /// The source offset.
    public var offset: Int64
    /// The source record's Kafka timestamp, milliseconds since the epoch.
    public var timestamp: Int64

    /// Creates an origin.
    public init(topic: String, partition: Int32, offset: Int64, timestamp: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
    }
}

/// The fields of a notification that the index answers queries with.
///
/// Plain values, filled by the caller (the worker's decoder); absent fields are `nil`.
public struct NotificationFields: Sendable, Hashable {
    /// Request or response half.
    public enum EventType: UInt8, Sendable, Hashable, CaseIterable {
        /// `audit.http.request`
        case request = 1
        /// `audit.http.response`
        case response = 2
    }

    /// The CADF event id (`payload.id`), shared by both halves.
    public var id: String
    /// Which half this is.
    public var eventType: EventType
    /// CADF `eventTime` in microseconds since the epoch, if it parsed.
    public var eventTime: Int64?
    /// `initiator.id`
    public var initiatorId: String?
    /// `initiator.name`
    public var initiatorName: String?
    /// `initiator.project_id`
    public var projectId: String?
    /// CADF `action` (e.g. `read/list`).
    public var action: String?
    /// CADF `outcome`.
    public var outcome: String?
    /// `reason.reasonCode` (the HTTP status on responses).
    public var reasonCode: String?
    /// `target.id`
    public var targetId: String?
    /// `target.typeURI`
    public var targetTypeURI: String?
    /// oslo `publisher_id`.
    public var publisher: String?
    /// CADF `requestPath`.
    public var requestPath: String?
    /// oslo `message_id`.
    public var messageId: String?
    /// `initiator.request_id` (keystonemiddleware; else the oslo context's `request_id`).
    public var requestId: String?
    /// `initiator.global_request_id` (else the oslo context's): one id across services.
    public var globalRequestId: String?
    /// Whether ``requestId`` and ``globalRequestId`` were recorded: `false` for a record written
    /// before they were (a journal record without flags bit 3, a row of an index of version 1,
    /// FORMAT.md §3, §6). Its ids are then unknown, not absent: a reader that filters on them
    /// checks the record's bytes.
    public var requestIDsRecorded = true
    /// A 64-bit content digest for duplicate detection; `nil` lets the store compute the first
    /// 8 bytes (big-endian) of the SHA-256 of the stored bytes.
    public var digest: UInt64?

    /// Creates the fields of a notification.
    public init(
        id: String, eventType: EventType, eventTime: Int64? = nil, initiatorId: String? = nil,
        initiatorName: String? = nil, projectId: String? = nil, action: String? = nil, outcome: String? = nil,
        reasonCode: String? = nil, targetId: String? = nil, targetTypeURI: String? = nil,
        publisher: String? = nil, requestPath: String? = nil, messageId: String? = nil, requestId: String? = nil,
        globalRequestId: String? = nil, digest: UInt64? = nil
    ) {
        self.id = id
        self.eventType = eventType
        self.eventTime = eventTime
        self.initiatorId = initiatorId
        self.initiatorName = initiatorName
        self.projectId = projectId
        self.action = action
        self.outcome = outcome
        self.reasonCode = reasonCode
        self.targetId = targetId
        self.targetTypeURI = targetTypeURI
        self.publisher = publisher
        self.requestPath = requestPath
        self.messageId = messageId
        self.requestId = requestId
        self.globalRequestId = globalRequestId
        self.digest = digest
    }

    /// The digest the store records when ``digest`` is `nil`: the first 8 bytes of the SHA-256
    /// of `bytes`, big-endian.
    public static func contentDigest(of bytes: [UInt8]) -> UInt64 { HashChain.contentDigest(bytes) }

    /// Number of optional string fields (FORMAT.md "index fields"), in this order: initiatorId,
    /// initiatorName, projectId, action, outcome, reasonCode, targetId, targetTypeURI, publisher,
    /// requestPath, messageId. Journal records without flags bit 3 and indexes of version 1 hold
    /// these.
    static let stringFieldCount = 11
    /// Number of optional string fields the index holds from version 2: the 11, then requestId
    /// and globalRequestId.
    static let indexedStringFieldCount = 13

    /// String field `number` in the stored order (a switch: key paths cost too much per record).
    func stringField(_ number: Int) -> String? {
        switch number {
        case 0: initiatorId
        case 1: initiatorName
        case 2: projectId
        case 3: action
        case 4: outcome
        case 5: reasonCode
        case 6: targetId
        case 7: targetTypeURI
        case 8: publisher
        case 9: requestPath
        case 10: messageId
        case 11: requestId
        default: globalRequestId
        }
    }

    /// Sets string field `number` in the stored order.
    mutating func setStringField(_ number: Int, _ value: String?) {
        switch number {
        case 0: initiatorId = value
        case 1: initiatorName = value
        case 2: projectId = value
        case 3: action = value
        case 4: outcome = value
        case 5: reasonCode = value
        case 6: targetId = value
        case 7: targetTypeURI = value
        case 8: publisher = value
        case 9: requestPath = value
        case 10: messageId = value
        case 11: requestId = value
        default: globalRequestId = value
        }
    }
}

/// The SHA-256 of a record's bytes, for a caller that needs their content digest before it
/// appends them (the worker, to tell duplicates): handed to ``LogWriter/append(_:hashes:)``, it
/// spares the journal a second pass of SHA-256 over the same bytes.
public struct ContentHash: Sendable, Hashable {
    /// The 32 bytes of the SHA-256.
    public let sha256: [UInt8]

    /// Hashes `bytes`.
    public init(of bytes: [UInt8]) { sha256 = HashChain.digest(bytes) }

    /// ``NotificationFields/contentDigest(of:)`` of the same bytes.
    public var digest: UInt64 { HashChain.contentDigest(fromDigest: sha256) }
}
