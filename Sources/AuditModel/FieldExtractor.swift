// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// Reads the fields the pipeline needs out of a validated document's tape.
enum FieldExtractor {
    /// The notification, or `nil` if a field the schemas normally guarantee is missing.
    static func extract(
        _ document: JSONDocument, _ original: [UInt8], _ storage: [UInt8], _ base: Int, _ form: WireForm
    ) -> AuditNotification? {
        var fields = AuditNotification.Fields()
        func ref(_ index: Int?) -> TextRef {
            guard let index, document.tape[index].kind == .string else { return .absent }
            let entry = document.tape[index]
            return TextRef(start: entry.start &+ UInt32(base), length: entry.length, escaped: entry.isEscaped, isPresent: true)
        }
        let payload: Int
        if form == .bareEvent {
            payload = 0
        } else {
            guard let index = document.member(0, "payload") else { return nil }
            payload = index
            fields.messageID = ref(document.member(0, "message_id"))
            fields.publisherID = ref(document.member(0, "publisher_id"))
            fields.eventTypeText = ref(document.member(0, "event_type"))
            if let context = document.member(0, "_context") {
                fields.requestID = ref(document.member(context, "request_id"))
                fields.globalRequestID = ref(document.member(context, "global_request_id"))
            } else {
                fields.requestID = ref(document.member(0, "_context_request_id"))
                fields.globalRequestID = ref(document.member(0, "_context_global_request_id"))
            }
        }
        guard document.tape[payload].kind == .object, let outcomeIndex = document.member(payload, "outcome"),
            let outcome = Self.outcome(document, outcomeIndex),
            let eventTime = timestamp(document, document.member(payload, "eventTime"))
        else { return nil }
        fields.id = ref(document.member(payload, "id"))
        fields.action = ref(document.member(payload, "action"))
        fields.requestPath = ref(document.member(payload, "requestPath"))
        if let initiator = document.member(payload, "initiator") {
            fields.initiatorID = ref(document.member(initiator, "id"))
            fields.initiatorName = ref(document.member(initiator, "name"))
            fields.initiatorProjectID = ref(document.member(initiator, "project_id"))
            if let requestID = document.member(initiator, "request_id") { fields.requestID = ref(requestID) }
            if let global = document.member(initiator, "global_request_id") { fields.globalRequestID = ref(global) }
        } else {
            fields.initiatorID = ref(document.member(payload, "initiatorId"))
        }
        if let target = document.member(payload, "target") {
            fields.targetID = ref(document.member(target, "id"))
            fields.targetTypeURI = ref(document.member(target, "typeURI"))
        } else {
            fields.targetID = ref(document.member(payload, "targetId"))
        }
        if let reason = document.member(payload, "reason") {
            fields.reasonCode = ref(document.member(reason, "reasonCode"))
        }
        var reporterTime: Timestamp?
        if let chain = document.member(payload, "reporterchain"), document.tape[chain].kind == .array,
            document.tape[chain].start > 0
        {
            reporterTime = timestamp(document, document.member(chain + 1, "reporterTime"))
        }
        let eventType: AuditEventType
        if form == .bareEvent {
            eventType = outcome == .pending ? .request : .response
        } else {
            guard let typeIndex = document.member(0, "event_type") else { return nil }
            if document.stringEquals(typeIndex, "audit.http.request") {
                eventType = .request
            } else if document.stringEquals(typeIndex, "audit.http.response") {
                eventType = .response
            } else {
                return nil
            }
        }
        return AuditNotification(
            original: original, form: form, eventType: eventType, outcome: outcome, eventTime: eventTime,
            reporterTime: reporterTime, storage: storage, fields: fields)
    }

    private static func outcome(_ document: JSONDocument, _ index: Int) -> Outcome? {
        if document.stringEquals(index, "success") { return .success }
        if document.stringEquals(index, "pending") { return .pending }
        if document.stringEquals(index, "failure") { return .failure }
        if document.stringEquals(index, "unknown") { return .unknown }
        return nil
    }

    private static func timestamp(_ document: JSONDocument, _ index: Int?) -> Timestamp? {
        guard let index, document.tape[index].kind == .string else { return nil }
        if document.tape[index].isEscaped {
            return document.unescapedBytes(index).withUnsafeBytes { Timestamp.parse($0) }
        }
        return Timestamp.parse(document.rawBytes(index))
    }
}
