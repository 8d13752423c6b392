// AuditTrail — AuditModel tests
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditTesting
import Testing

/// The 2.0 envelope's inner message parsed in place (oslo.messaging's exact layout) must give what the
/// general route (parse the envelope, unescape, parse) gives for the same inner string.
struct EnvelopeInPlaceTests {
    private static let head = Array(#"{"oslo.version": "2.0", "oslo.message": "#.utf8)
    /// The same envelope with another layout: the in-place path does not recognise it.
    private static let otherHead = Array(#"{"oslo.version":"2.0","oslo.message":"#.utf8)

    private static func generalRoute(_ envelope: [UInt8]) -> [UInt8] {
        guard envelope.starts(with: head) else { return envelope }
        return otherHead + envelope[head.count...]
    }

    /// Byte strings to splice into the inner message: the escapes and quotes the in-place path refuses.
    private static let splices: [[UInt8]] = [
        #"\\u00e9"#, #"\n"#, #"\\n"#, #"\""#, #"""#, " ", #"\\\""#, #"\\\\"#, #"\u0041"#, #"\\ud800"#, "\u{1}", "é",
        #"\"a\": 1, \"a"#, "]", "}", "{",
    ].map { Array($0.utf8) }

    @Test("generated envelopes and mutations of them: in place and general route agree")
    func inPlaceMatchesGeneralRoute() {
        var decoder = NotificationDecoder(validator: Fixtures.validator)
        var random = SeededRandom(seed: 7)
        var inPlaceAccepted = 0
        for envelope in SampleNotifications.corpus(count: 600, seed: 11) {
            var inputs = [envelope]
            for _ in 0..<6 {
                var mutated = envelope
                let at = Self.head.count + random.next(below: mutated.count - Self.head.count - 2)
                if random.next(below: 4) == 0 {
                    mutated.remove(at: at)
                } else {
                    mutated.insert(contentsOf: Self.splices[random.next(below: Self.splices.count)], at: at)
                }
                inputs.append(mutated)
            }
            for input in inputs {
                let fast = decoder.decode(input)
                let general = decoder.decode(Self.generalRoute(input))
                switch (fast, general) {
                case (.audit(let a), .audit(let b)):
                    inPlaceAccepted += 1
                    #expect(a.id == b.id && a.action == b.action && a.outcome == b.outcome)
                    #expect(a.eventTime == b.eventTime && a.reporterTime == b.reporterTime)
                    #expect(a.initiatorID == b.initiatorID && a.initiatorName == b.initiatorName)
                    #expect(a.initiatorProjectID == b.initiatorProjectID && a.targetID == b.targetID)
                    #expect(a.targetTypeURI == b.targetTypeURI && a.reasonCode == b.reasonCode)
                    #expect(a.requestPath == b.requestPath && a.publisherID == b.publisherID)
                    #expect(a.messageID == b.messageID && a.requestID == b.requestID)
                    #expect(a.globalRequestID == b.globalRequestID && a.eventTypeText == b.eventTypeText)
                    #expect(a.original == input)
                case (.quarantined(let a), .quarantined(let b)):
                    // Offsets differ with the head's length; the reason must not.
                    #expect(a.reason.code == b.reason.code, "\(a.reason) vs \(b.reason)")
                    #expect(a.reason.rule == b.reason.rule && a.reason.pointer == b.reason.pointer)
                case (.nonAudit(let a), .nonAudit(let b)):
                    #expect(a.eventType == b.eventType)
                default:
                    Issue.record("in place \(fast), general route \(general)")
                }
            }
        }
        #expect(inPlaceAccepted > 600)
    }
}
