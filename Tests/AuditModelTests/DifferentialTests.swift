// AuditTrail — AuditModel tests
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import Foundation
import Testing

/// Swift verdicts against python-jsonschema's on the same schema files, over the corpus made by the
/// real pycadf / keystonemiddleware and its mutations (`interop/gen_corpus.py`).
@Suite(.timeLimit(.minutes(10)))
struct DifferentialTests {
    @Test("every corpus verdict equals python-jsonschema's (100%)")
    func verdictsMatchPython() throws {
        let cases = try InteropCorpus.cases()
        let bases = cases.filter { $0.mutation == nil }
        let mutations = cases.filter { $0.mutation != nil }
        #expect(bases.count >= 2000, "real events: \(bases.count)")
        #expect(mutations.count >= 2000, "mutations: \(mutations.count)")
        #expect(bases.filter { $0.source == "keystonemiddleware" }.count >= 2000)

        var mismatches: [String] = []
        var reasonMismatches: [String] = []
        var pointersCompared = 0
        var pointersEqual = 0
        for (index, item) in cases.enumerated() {
            let reason = Fixtures.validator.validate(item.bytes, as: item.kind == "event" ? .event : .notification)
            if (reason == nil) != item.valid {
                mismatches.append("#\(index) \(item.kind) \(item.mutation ?? "base:" + item.source): python valid=\(item.valid) (\(item.reason ?? "-")), swift \(reason.map { "\($0)" } ?? "valid")")
            }
            if let expected = item.reason, expected.isEmpty || expected.hasPrefix("/"), let pointer = reason?.pointer {
                pointersCompared += 1
                if pointer == expected { pointersEqual += 1 }
            }
            // The byte-level rules must agree on the reason too (one defect per document).
            if let expected = item.reason, ["notJSON", "tooDeep", "duplicateKey"].contains(expected),
                reason?.code.description != expected
            {
                reasonMismatches.append("#\(index) \(item.mutation ?? "-"): python \(expected), swift \(reason.map { "\($0)" } ?? "valid")")
            }
        }
        // Pointers are informational (python's best_match heuristic is not part of the contract).
        print("differential: \(cases.count) cases, \(mismatches.count) verdict mismatches; schema-violation pointers equal to python's best_match: \(pointersEqual)/\(pointersCompared)")
        #expect(mismatches.isEmpty, "\(mismatches.count) of \(cases.count) verdicts differ:\n\(mismatches.prefix(40).joined(separator: "\n"))")
        #expect(reasonMismatches.isEmpty, "\(reasonMismatches.count) byte-level reasons differ:\n\(reasonMismatches.prefix(40).joined(separator: "\n"))")
    }

    @Test("both halves of every keystonemiddleware notification decode (2.0 envelopes)")
    func envelopesDecode() throws {
        let lines = try Fixtures.lines(try InteropCorpus.directory.get().appendingPathComponent("envelopes.jsonl"))
        #expect(lines.count >= 2000)
        var decoder = NotificationDecoder(validator: Fixtures.validator)
        var failures: [String] = []
        for (index, line) in lines.enumerated() {
            guard case .audit(let event) = decoder.decode(line) else {
                failures.append("line \(index + 1): \(decoder.decode(line))")
                continue
            }
            #expect(event.form == .osloEnvelope)
            Fixtures.expectFields(event, match: try Fixtures.innerMessage(ofEnvelope: line))
        }
        #expect(failures.isEmpty, "\(failures.prefix(10).joined(separator: "\n"))")
    }

    @Test("every oslo log-driver line decodes to the same notification as its envelope")
    func logDriverLinesDecode() throws {
        let directory = try InteropCorpus.directory.get()
        let lines = try Fixtures.lines(directory.appendingPathComponent("logdriver.log"))
        let envelopes = try Fixtures.lines(directory.appendingPathComponent("envelopes.jsonl"))
        #expect(lines.count == envelopes.count)
        var decoder = NotificationDecoder(validator: Fixtures.validator)
        for (line, envelope) in zip(lines, envelopes) {
            guard case .audit(let event) = decoder.decode(line), case .audit(let reference) = decoder.decode(envelope) else {
                Issue.record("not decoded: \(String(decoding: line.prefix(200), as: UTF8.self))")
                continue
            }
            #expect(event.form == .logDriver)
            #expect(event.messageID == reference.messageID)
            #expect(event.id == reference.id)
            #expect(event.eventType == reference.eventType)
            #expect(event.eventTime == reference.eventTime)
            #expect(event.initiatorName == reference.initiatorName)
            #expect(event.original == line)
        }
    }
}
