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
/// Plain values, filled by the caller (the worker's decoder); absent fields are `nil`. The
/// string fields are kept as one array of bytes in the journal's encoding of them (FORMAT.md
/// §3: the CADF id as a `string`, then ``indexedStringFieldCount`` `optionalString`s in stored
/// order): one allocation and one copy per notification on the append path instead of a
/// `String` per field built and encoded back, and what the journal reads back it keeps the
/// same way. A property builds its `String` when read.
public struct NotificationFields: Sendable, Hashable {
    /// Request or response half.
    public enum EventType: UInt8, Sendable, Hashable, CaseIterable {
        /// `audit.http.request`
        case request = 1
        /// `audit.http.response`
        case response = 2
    }

    /// Which half this is.
    public var eventType: EventType
    /// CADF `eventTime` in microseconds since the epoch, if it parsed.
    public var eventTime: Int64?
    /// Whether ``requestId`` and ``globalRequestId`` were recorded: `false` for a record written
    /// before they were (a journal record without flags bit 3, a row of an index of version 1,
    /// FORMAT.md §3, §6). Its ids are then unknown, not absent: a reader that filters on them
    /// checks the record's bytes.
    public var requestIDsRecorded = true
    /// A 64-bit content digest for duplicate detection; `nil` lets the store compute the first
    /// 8 bytes (big-endian) of the SHA-256 of the stored bytes.
    public var digest: UInt64?
    /// The CADF id and the string fields, encoded (``Text``).
    private(set) var text: Text

    /// Creates the fields of a notification.
    public init(
        id: String, eventType: EventType, eventTime: Int64? = nil, initiatorId: String? = nil,
        initiatorName: String? = nil, projectId: String? = nil, action: String? = nil, outcome: String? = nil,
        reasonCode: String? = nil, targetId: String? = nil, targetTypeURI: String? = nil,
        publisher: String? = nil, requestPath: String? = nil, messageId: String? = nil, requestId: String? = nil,
        globalRequestId: String? = nil, digest: UInt64? = nil
    ) {
        var text = Text()
        for value in [
            id, initiatorId, initiatorName, projectId, action, outcome, reasonCode, targetId, targetTypeURI, publisher,
            requestPath, messageId, requestId, globalRequestId,
        ] {
            text.append(value)
        }
        self.init(eventType: eventType, eventTime: eventTime, digest: digest, text: text)
    }

    /// Creates the fields of a notification from its strings already encoded
    /// (``Text/isComplete``).
    package init(eventType: EventType, eventTime: Int64?, digest: UInt64?, text: Text) {
        precondition(text.isComplete, "\(text.count) of \(Text.fieldCount) fields")
        self.eventType = eventType
        self.eventTime = eventTime
        self.digest = digest
        self.text = text
    }

    /// The CADF event id (`payload.id`), shared by both halves.
    public var id: String {
        get { withField(0) { $0.map { String(decoding: $0, as: UTF8.self) } } ?? "" }
        set { setField(0, newValue) }
    }
    /// `initiator.id`
    public var initiatorId: String? {
        get { stringField(0) }
        set { setStringField(0, newValue) }
    }
    /// `initiator.name`
    public var initiatorName: String? {
        get { stringField(1) }
        set { setStringField(1, newValue) }
    }
    /// `initiator.project_id`
    public var projectId: String? {
        get { stringField(2) }
        set { setStringField(2, newValue) }
    }
    /// CADF `action` (e.g. `read/list`).
    public var action: String? {
        get { stringField(3) }
        set { setStringField(3, newValue) }
    }
    /// CADF `outcome`.
    public var outcome: String? {
        get { stringField(4) }
        set { setStringField(4, newValue) }
    }
    /// `reason.reasonCode` (the HTTP status on responses).
    public var reasonCode: String? {
        get { stringField(5) }
        set { setStringField(5, newValue) }
    }
    /// `target.id`
    public var targetId: String? {
        get { stringField(6) }
        set { setStringField(6, newValue) }
    }
    /// `target.typeURI`
    public var targetTypeURI: String? {
        get { stringField(7) }
        set { setStringField(7, newValue) }
    }
    /// oslo `publisher_id`.
    public var publisher: String? {
        get { stringField(8) }
        set { setStringField(8, newValue) }
    }
    /// CADF `requestPath`.
    public var requestPath: String? {
        get { stringField(9) }
        set { setStringField(9, newValue) }
    }
    /// oslo `message_id`.
    public var messageId: String? {
        get { stringField(10) }
        set { setStringField(10, newValue) }
    }
    /// `initiator.request_id` (keystonemiddleware; else the oslo context's `request_id`).
    public var requestId: String? {
        get { stringField(11) }
        set { setStringField(11, newValue) }
    }
    /// `initiator.global_request_id` (else the oslo context's): one id across services.
    public var globalRequestId: String? {
        get { stringField(12) }
        set { setStringField(12, newValue) }
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

    /// String field `number` in the stored order.
    func stringField(_ number: Int) -> String? {
        withField(number + 1) { $0.map { String(decoding: $0, as: UTF8.self) } }
    }

    /// Sets string field `number` in the stored order.
    mutating func setStringField(_ number: Int, _ value: String?) { setField(number + 1, value) }

    /// Calls `body` with the UTF-8 of field `number`, or `nil` when it is absent: 0 the CADF id,
    /// then string field `number - 1` (as ``FrameFields/field(_:)`` numbers them).
    func withField<R>(_ number: Int, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        text.bytes.withUnsafeBytes { body(Text.field(number, in: $0)) }
    }

    /// Calls `body` with each field's number (as ``withField(_:_:)`` numbers them) and UTF-8, or
    /// `nil` when absent, in one pass over the encoding.
    func forEachField(_ body: (_ number: Int, UnsafeRawBufferPointer?) -> Void) {
        text.bytes.withUnsafeBytes { Text.forEachField(in: $0, body) }
    }

    /// Sets field `number` (as ``withField(_:_:)`` numbers them).
    private mutating func setField(_ number: Int, _ value: String?) {
        var rebuilt = Text()
        forEachField { i, bytes in
            if i == number {
                rebuilt.append(value)
            } else {
                rebuilt.append(bytes)
            }
        }
        text = rebuilt
    }

    /// The encoded strings as the journal writes them: all of them, or without the last two
    /// (the request ids) for a record that does not record them.
    func withEncodedText<R>(requestIDs: Bool, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        text.bytes.withUnsafeBytes { buffer in
            guard !requestIDs else { return body(buffer) }
            return body(UnsafeRawBufferPointer(rebasing: buffer[..<Text.end(ofFields: Text.fieldCount - 2, in: buffer)]))
        }
    }

    /// A notification's CADF id and string fields in the journal's encoding (FORMAT.md §3):
    /// each a `u32` length (`0xFFFF_FFFF` when absent) and its UTF-8, in stored order.
    package struct Text: Sendable, Hashable {
        /// The CADF id and the ``NotificationFields/indexedStringFieldCount`` string fields.
        package static let fieldCount = NotificationFields.indexedStringFieldCount + 1
        /// The encoded fields, written as ``ByteWriter/blob(_:)`` and
        /// ``ByteWriter/optionalString(_:)`` write them.
        private var writer: ByteWriter
        /// Fields appended so far.
        private(set) var count = 0

        /// An empty text; `capacity` bytes reserved.
        package init(capacity: Int = 0) { writer = ByteWriter(capacity: capacity) }

        /// The encoded fields.
        var bytes: [UInt8] { writer.bytes }

        /// Whether every field was appended.
        package var isComplete: Bool { count == Self.fieldCount }

        /// Appends the next field: `value`'s UTF-8, or absent.
        package mutating func append(_ value: UnsafeRawBufferPointer?) {
            countField()
            if let value { writer.blob(value) } else { writer.u32(.max) }
        }

        /// Appends the next field: `value`, or absent.
        package mutating func append(_ value: String?) {
            countField()
            writer.optionalString(value)
        }

        private mutating func countField() {
            precondition(count < Self.fieldCount, "a field too many")
            count += 1
        }

        /// Reads the encoded fields from `reader`: `fields` of them (the first must be present),
        /// the rest absent. Throws ``StoreError/Code/corrupt`` if they run past its end.
        static func read(_ reader: inout ByteReader, fields: Int) throws(StoreError) -> Text {
            let start = reader.position
            for i in 0..<fields {
                let length = try reader.u32()
                if length == .max && i > 0 { continue }
                _ = try reader.raw(Int(length))
            }
            var text = Text(capacity: reader.position - start + 4 * (fieldCount - fields))
            text.writer.raw(UnsafeRawBufferPointer(rebasing: reader.buffer[start..<reader.position]))
            text.count = fields
            while text.count < fieldCount { text.append(nil as UnsafeRawBufferPointer?) }
            return text
        }

        /// Field `number` (0: the CADF id) of the complete encoded fields `buffer`.
        static func field(_ number: Int, in buffer: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
            var at = end(ofFields: number, in: buffer)
            let length = buffer.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian
            guard length != .max else { return nil }
            at += 4
            return UnsafeRawBufferPointer(rebasing: buffer[at..<at + Int(length)])
        }

        /// Calls `body` with each field of the complete encoded fields `buffer`, in one pass.
        static func forEachField(in buffer: UnsafeRawBufferPointer, _ body: (_ number: Int, UnsafeRawBufferPointer?) -> Void) {
            var at = 0
            for number in 0..<fieldCount {
                let length = buffer.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian
                at += 4
                guard length != .max else {
                    body(number, nil)
                    continue
                }
                body(number, UnsafeRawBufferPointer(rebasing: buffer[at..<at + Int(length)]))
                at += Int(length)
            }
        }

        /// Where field `number` starts in the complete encoded fields `buffer`: the end of the
        /// `number` before it.
        static func end(ofFields number: Int, in buffer: UnsafeRawBufferPointer) -> Int {
            var at = 0
            for _ in 0..<number {
                let length = buffer.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian
                at += 4 + (length == .max ? 0 : Int(length))
            }
            return at
        }
    }
}

extension NotificationFields: CustomDebugStringConvertible {
    /// Every field by name, as its property gives it (the encoded strings would show as bytes).
    public var debugDescription: String {
        let names = [
            "initiatorId", "initiatorName", "projectId", "action", "outcome", "reasonCode", "targetId", "targetTypeURI",
            "publisher", "requestPath", "messageId", "requestId", "globalRequestId",
        ]
        let strings = names.enumerated().map { i, name in "\(name): \(stringField(i).map { "\"\($0)\"" } ?? "nil")" }
        return "NotificationFields(id: \"\(id)\", eventType: \(eventType), eventTime: \(eventTime.map(String.init) ?? "nil"), "
            + strings.joined(separator: ", ")
            + ", requestIDsRecorded: \(requestIDsRecorded), digest: \(digest.map(String.init) ?? "nil"))"
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
