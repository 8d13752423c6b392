// AuditTrail — libFuzzer target for the decoder (built by scripts/fuzz-decode.sh, not by SwiftPM)
// SPDX-License-Identifier: Apache-2.0

import Foundation

/// Every input goes through the whole decoder (all wire forms, the validator, field access): it must
/// return a verdict, never crash, never hang.
private let validator: SchemaValidator = {
    let directory = ProcessInfo.processInfo.environment["AUDITTRAIL_SCHEMAS"] ?? "schemas"
    do {
        return try SchemaValidator(directory: directory)
    } catch {
        fatalError("fuzz-decode: cannot load schemas from \(directory): \(error)")  // setup, not input
    }
}()

/// Loads the schemas before the first input, so one-time allocations are not charged to an input.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    _ = validator
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecode(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var decoder = NotificationDecoder(validator: validator)
    switch decoder.decode(bytes) {
    case .audit(let event):
        // Touch every accessor: they decode from stored offsets.
        _ = (event.id, event.action, event.initiatorID, event.initiatorName, event.initiatorProjectID)
        _ = (event.targetID, event.targetTypeURI, event.reasonCode, event.requestPath, event.publisherID)
        _ = (event.messageID, event.requestID, event.globalRequestID, event.latencyNanoseconds, event.eventTime.description)
    case .nonAudit(let other):
        _ = other.eventType
    case .quarantined(let bad):
        _ = bad.reason.description
    }
    _ = validator.validate(bytes, as: .event)
    checkInPlaceEnvelope(bytes, &decoder)
    return 0
}

private let inPlaceHead = Array(#"{"oslo.version": "2.0", "oslo.message": "#.utf8)
private let otherHead = Array(#"{"oslo.version":"2.0","oslo.message":"#.utf8)

/// An envelope in oslo.messaging's exact layout (inner message parsed in place when it has no escapes
/// of its own) must get the verdict of the same envelope in another layout (unescaped, then parsed).
private func checkInPlaceEnvelope(_ bytes: [UInt8], _ decoder: inout NotificationDecoder) {
    guard bytes.starts(with: inPlaceHead) else { return }
    func verdict(_ decoded: DecodedNotification) -> String {
        switch decoded {
        case .audit(let event): "audit \(event.id) \(event.action) \(event.initiatorName ?? "-") \(event.eventTime)"
        case .nonAudit(let other): "nonAudit \(other.eventType)"
        case .quarantined(let bad): "quarantined \(bad.reason.code) \(bad.reason.rule ?? "") \(bad.reason.pointer ?? "")"
        }
    }
    let inPlace = verdict(decoder.decode(bytes))
    let general = verdict(decoder.decode(otherHead + bytes[inPlaceHead.count...]))
    if inPlace != general { fatalError("fuzz-decode: in place \(inPlace), general route \(general)") }
}
