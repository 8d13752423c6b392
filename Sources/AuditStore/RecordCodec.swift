// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// The binary encoding of one ``StoreRecord`` (FORMAT.md §3).
///
/// The journal of the active segment stores records *with* their index fields, so that recovery
/// can rebuild the index from the data alone. Sealed blocks store them *without* (the sidecar
/// index holds the fields, dictionary-coded): the fields mostly repeat the body and would cost
/// compressed bytes for nothing. A sealed block also keeps a record's `bytes` apart from the rest
/// of it (``BlockBuilder``): the record is then encoded with the bytes *detached*, its blob reduced
/// to the `u32` length.
enum RecordCodec {
    private static let hasOrigin: UInt8 = 1
    private static let hasFields: UInt8 = 2
    /// A forwarded marker that records where its copy was written.
    private static let hasCopyPosition: UInt8 = 4
    /// A notification's fields end with its request ids (``NotificationFields/requestIDsRecorded``).
    private static let hasRequestIDs: UInt8 = 8

    /// Where a notification's or quarantined record's `bytes` go when it is encoded.
    enum BytesLayout {
        /// A `blob`, in the record.
        case inline
        /// Only the blob's `u32` length; the bytes go elsewhere (a version 2 block's bodies).
        case detached
        /// Neither: the length and the bytes go elsewhere (a version 3 block's columns and bodies).
        case omitted
    }

    /// Appends `record` to `writer`; with `detachBytes`, only the length of its `bytes`. With
    /// `includeFields`, `digest` stands in for a notification's ``NotificationFields/digest`` when
    /// that is `nil`.
    static func encode(
        _ record: StoreRecord, includeFields: Bool, detachBytes: Bool = false, digest: UInt64? = nil,
        into writer: inout ByteWriter
    ) {
        let flags = flags(of: record, includeFields: includeFields)
        writer.u8(record.kind.rawValue)
        writer.u8(flags)
        writer.i64(record.offset)
        writer.i64(record.timestamp)
        encodeTail(record, flags: flags, bytes: detachBytes ? .detached : .inline, digest: digest, into: &writer)
    }

    /// The flags byte ``encode(_:includeFields:detachBytes:digest:into:)`` writes for `record`.
    static func flags(of record: StoreRecord, includeFields: Bool) -> UInt8 {
        var flags: UInt8 = record.origin == nil ? 0 : hasOrigin
        if includeFields, case .notification(let fields, _) = record.body {
            flags |= hasFields
            if fields.requestIDsRecorded { flags |= hasRequestIDs }
        }
        if case .forwarded(_, _, .some) = record.body { flags |= hasCopyPosition }
        return flags
    }

    /// Appends what follows a record's timestamp: its origin and the rest of its body.
    static func encodeTail(
        _ record: StoreRecord, flags: UInt8, bytes layout: BytesLayout, digest: UInt64? = nil, into writer: inout ByteWriter
    ) {
        func put(_ bytes: [UInt8]) {
            switch layout {
            case .inline: writer.blob(bytes)
            case .detached: writer.u32(UInt32(bytes.count))
            case .omitted: break
            }
        }
        if let origin = record.origin {
            writer.string(origin.topic)
            writer.i32(origin.partition)
            writer.i64(origin.offset)
            writer.i64(origin.timestamp)
        }
        switch record.body {
        case .notification(let fields, let bytes):
            if flags & hasFields != 0 { encode(fields, digest: fields.digest ?? digest, into: &writer) }
            put(bytes)
        case .quarantined(let reason, let detail, let bytes):
            writer.string(reason)
            writer.string(detail)
            put(bytes)
        case .skipped(let eventType):
            writer.string(eventType)
        case .forwarded(let topic, let key, let copy):
            writer.string(topic)
            writer.string(key)
            if let copy {
                writer.i32(copy.partition)
                writer.i64(copy.offset)
            }
        case .gap(let to):
            writer.i64(to)
        }
    }

    private static func encode(_ fields: NotificationFields, digest: UInt64?, into writer: inout ByteWriter) {
        writer.u8(fields.eventType.rawValue)
        writer.i64(fields.eventTime ?? .min)
        writer.u64(digest ?? 0)
        fields.withEncodedText(requestIDs: fields.requestIDsRecorded) { writer.raw($0) }
    }

    /// The length of the detached bytes of `encoded`, a record encoded with `detachBytes`:
    /// the `u32` it ends with, for the kinds that have bytes.
    static func detachedLength(_ encoded: UnsafeRawBufferPointer) throws(StoreError) -> Int {
        guard let kind = encoded.first.flatMap(StoreRecord.Kind.init(rawValue:)) else {
            throw StoreError(.corrupt, "unknown record kind")
        }
        guard kind == .notification || kind == .quarantined else { return 0 }
        var reader = ByteReader(encoded, position: max(0, encoded.count - 4))
        return Int(try reader.u32())
    }

    /// Decodes one record; a notification stored without fields gets `placeholderFields`
    /// (the caller fills them from the index). `bytes` reads a record's bytes: by default its
    /// blob; for a record encoded with detached bytes, the caller's.
    /// `fields` reads a notification's fields where the head has them: by default into a
    /// ``NotificationFields``.
    static func decode(
        _ reader: inout ByteReader, bytes: (inout ByteReader) throws(StoreError) -> [UInt8] = { (reader) throws(StoreError) in try reader.blob() },
        fields: (inout ByteReader, _ requestIDs: Bool) throws(StoreError) -> NotificationFields = decodeFields
    ) throws(StoreError) -> StoreRecord {
        guard let kind = StoreRecord.Kind(rawValue: try reader.u8()) else {
            throw StoreError(.corrupt, "unknown record kind at \(reader.position - 1)")
        }
        let flags = try reader.u8()
        let offset = try reader.i64()
        let timestamp = try reader.i64()
        return try decodeTail(
            &reader, kind: kind, flags: flags, offset: offset, timestamp: timestamp, bytes: bytes, fields: fields)
    }

    /// Moves `reader` past what follows a record's timestamp, encoded with its bytes omitted
    /// (``BytesLayout/omitted``), without decoding it.
    static func skipTail(_ reader: inout ByteReader, kind: StoreRecord.Kind, flags: UInt8) throws(StoreError) {
        func string() throws(StoreError) { _ = try reader.raw(Int(try reader.u32())) }
        func optionalString() throws(StoreError) {
            let length = try reader.u32()
            if length != .max { _ = try reader.raw(Int(length)) }
        }
        if flags & hasOrigin != 0 {
            try string()
            _ = try reader.raw(4 + 8 + 8)
        }
        switch kind {
        case .notification:
            guard flags & hasFields != 0 else { return }
            _ = try reader.raw(1 + 8 + 8)
            try string()
            for _ in 0..<NotificationFields.stringFieldCount { try optionalString() }
            if flags & hasRequestIDs != 0 {
                try optionalString()
                try optionalString()
            }
        case .quarantined:
            try string()
            try string()
        case .skipped:
            try string()
        case .forwarded:
            try string()
            try string()
            if flags & hasCopyPosition != 0 { _ = try reader.raw(4 + 8) }
        case .gap:
            _ = try reader.raw(8)
        }
    }

    /// Decodes what follows a record's timestamp, given the fields before it.
    static func decodeTail(
        _ reader: inout ByteReader, kind: StoreRecord.Kind, flags: UInt8, offset: Int64, timestamp: Int64,
        bytes: (inout ByteReader) throws(StoreError) -> [UInt8],
        fields: (inout ByteReader, _ requestIDs: Bool) throws(StoreError) -> NotificationFields = decodeFields
    ) throws(StoreError) -> StoreRecord {
        var origin: Origin?
        if flags & hasOrigin != 0 {
            origin = Origin(
                topic: try reader.string(), partition: try reader.i32(), offset: try reader.i64(),
                timestamp: try reader.i64())
        }
        let body: StoreRecord.Body
        switch kind {
        case .notification:
            let fields = flags & hasFields != 0 ? try fields(&reader, flags & hasRequestIDs != 0) : placeholderFields
            body = .notification(fields, bytes: try bytes(&reader))
        case .quarantined:
            body = .quarantined(reason: try reader.string(), detail: try reader.string(), bytes: try bytes(&reader))
        case .skipped:
            body = .skipped(eventType: try reader.string())
        case .forwarded:
            let topic = try reader.string()
            let key = try reader.string()
            let copy = flags & hasCopyPosition != 0 ? CopyPosition(partition: try reader.i32(), offset: try reader.i64()) : nil
            body = .forwarded(topic: topic, key: key, copy: copy)
        case .gap:
            let to = try reader.i64()
            guard to > offset else { throw StoreError(.corrupt, "gap \(offset)..<\(to) is empty") }
            body = .gap(to: to)
        }
        return StoreRecord(offset: offset, timestamp: timestamp, origin: origin, body: body)
    }

    private static func decodeFields(_ reader: inout ByteReader, _ requestIDs: Bool) throws(StoreError) -> NotificationFields {
        guard let eventType = NotificationFields.EventType(rawValue: try reader.u8()) else {
            throw StoreError(.corrupt, "unknown event type at \(reader.position - 1)")
        }
        let eventTime = try reader.i64()
        let digest = try reader.u64()
        // The strings stay encoded, as the journal holds them: one copy, no `String` per field.
        let text = try NotificationFields.Text.read(
            &reader, fields: 1 + NotificationFields.stringFieldCount + (requestIDs ? 2 : 0))
        var fields = NotificationFields(
            eventType: eventType, eventTime: eventTime == .min ? nil : eventTime, digest: digest, text: text)
        fields.requestIDsRecorded = requestIDs
        return fields
    }

    /// Reads a notification's fields as ``decodeFields(_:_:)`` does, but records where each string
    /// is (``FieldSpans``) instead of making it a `String`: each span is appended to `spans` as
    /// `start << 32 | length`, `start` counted from `base` bytes before the reader's buffer
    /// (where that buffer is in the frame), ``FieldSpans/absent`` for a missing field.
    static func decodeFieldSpans(_ reader: inout ByteReader, requestIDs: Bool, base: Int, into spans: inout [UInt64])
        throws(StoreError) -> FieldSpans
    {
        let eventType = try reader.u8()
        guard NotificationFields.EventType(rawValue: eventType) != nil else {
            throw StoreError(.corrupt, "unknown event type at \(reader.position - 1)")
        }
        let head = FieldSpans(
            eventType: eventType, eventTime: try reader.i64(), digest: try reader.u64(), requestIDsRecorded: requestIDs,
            first: spans.count)
        func span(optional: Bool) throws(StoreError) {
            let length = try reader.u32()
            if optional && length == .max {
                spans.append(FieldSpans.absent)
                return
            }
            let start = base + reader.position
            _ = try reader.raw(Int(length))
            spans.append(UInt64(start) << 32 | UInt64(length))
        }
        try span(optional: false)
        for _ in 0..<NotificationFields.stringFieldCount { try span(optional: true) }
        if requestIDs {
            try span(optional: true)
            try span(optional: true)
        } else {
            spans.append(FieldSpans.absent)
            spans.append(FieldSpans.absent)
        }
        return head
    }

    /// Stands in for the fields of a notification decoded from a sealed block.
    static let placeholderFields = NotificationFields(id: "", eventType: .request)
}
