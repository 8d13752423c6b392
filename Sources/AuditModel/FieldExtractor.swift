// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// Reads the fields the pipeline needs out of a validated document's tape, one walk per object.
enum FieldExtractor {
    private static let root = MemberQuery([
        "payload", "message_id", "publisher_id", "event_type", "_context", "_context_request_id",
        "_context_global_request_id",
    ])
    private static let event = MemberQuery([
        "id", "outcome", "eventTime", "action", "requestPath", "initiator", "initiatorId", "target", "targetId",
        "reason", "reporterchain",
    ])
    private static let initiator = MemberQuery(["id", "name", "project_id", "request_id", "global_request_id"])
    private static let context = MemberQuery(["request_id", "global_request_id"])

    /// The notification, or `nil` if a field the schemas normally guarantee is missing.
    static func extract(
        _ document: JSONDocument, _ original: [UInt8], _ storage: [UInt8], _ base: Int, _ form: WireForm
    ) -> AuditNotification? {
        var fields = AuditNotification.Fields()
        func ref(_ index: Int) -> TextRef {
            guard index >= 0, document.tape[index].kind == .string else { return .absent }
            let entry = document.tape[index]
            return TextRef(start: entry.start &+ UInt32(base), length: entry.length, escaped: entry.isEscaped, isPresent: true)
        }
        var payload = 0
        var eventType: AuditEventType?
        if form != .bareEvent {
            root.find(in: document, 0) { found in
                payload = found[0]
                fields.messageID = ref(found[1])
                fields.publisherID = ref(found[2])
                fields.eventTypeText = ref(found[3])
                if found[3] >= 0 {
                    if document.stringEquals(found[3], "audit.http.request") { eventType = .request }
                    if document.stringEquals(found[3], "audit.http.response") { eventType = .response }
                }
                if found[4] >= 0 {
                    context.find(in: document, found[4]) { context in
                        fields.requestID = ref(context[0])
                        fields.globalRequestID = ref(context[1])
                    }
                } else {
                    fields.requestID = ref(found[5])
                    fields.globalRequestID = ref(found[6])
                }
            }
            guard payload >= 0, eventType != nil else { return nil }
        }
        var outcome: Outcome?
        var eventTime: Timestamp?
        var reporterTime: Timestamp?
        event.find(in: document, payload) { found in
            fields.id = ref(found[0])
            outcome = found[1] >= 0 ? Self.outcome(document, found[1]) : nil
            eventTime = timestamp(document, found[2])
            fields.action = ref(found[3])
            fields.requestPath = ref(found[4])
            if found[5] >= 0 {
                initiator.find(in: document, found[5]) { initiator in
                    fields.initiatorID = ref(initiator[0])
                    fields.initiatorName = ref(initiator[1])
                    fields.initiatorProjectID = ref(initiator[2])
                    if initiator[3] >= 0 { fields.requestID = ref(initiator[3]) }
                    if initiator[4] >= 0 { fields.globalRequestID = ref(initiator[4]) }
                }
            } else {
                fields.initiatorID = ref(found[6])
            }
            if found[7] >= 0 {
                fields.targetID = ref(document.member(found[7], "id") ?? -1)
                fields.targetTypeURI = ref(document.member(found[7], "typeURI") ?? -1)
            } else {
                fields.targetID = ref(found[8])
            }
            if found[9] >= 0 { fields.reasonCode = ref(document.member(found[9], "reasonCode") ?? -1) }
            let chain = found[10]
            if chain >= 0, document.tape[chain].kind == .array, document.tape[chain].start > 0 {
                reporterTime = timestamp(document, document.member(chain + 1, "reporterTime") ?? -1)
            }
        }
        guard let outcome, let eventTime else { return nil }
        return AuditNotification(
            original: original, form: form, eventType: eventType ?? (outcome == .pending ? .request : .response),
            outcome: outcome, eventTime: eventTime, reporterTime: reporterTime, storage: storage, fields: fields)
    }

    private static func outcome(_ document: JSONDocument, _ index: Int) -> Outcome? {
        if document.stringEquals(index, "success") { return .success }
        if document.stringEquals(index, "pending") { return .pending }
        if document.stringEquals(index, "failure") { return .failure }
        if document.stringEquals(index, "unknown") { return .unknown }
        return nil
    }

    private static func timestamp(_ document: JSONDocument, _ index: Int) -> Timestamp? {
        guard index >= 0, document.tape[index].kind == .string else { return nil }
        if document.tape[index].isEscaped {
            return document.unescapedBytes(index).withUnsafeBytes { Timestamp.parse($0) }
        }
        return Timestamp.parse(document.rawBytes(index))
    }
}
