// AuditTrail — AuditModel tests
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditTesting
import Foundation
import Testing

/// The captured samples (`../shared/samples`, and the committed copy in Fixtures/) decode to the right fields.
struct SampleDecodingTests {
    @Test("every sample decodes to the fields Foundation reads from it")
    func samplesDecode() throws {
        let files = Fixtures.sampleFiles()
        try #require(!files.isEmpty)
        var decoder = NotificationDecoder(validator: Fixtures.validator)
        for file in files {
            let lines = try Fixtures.lines(file)
            #expect(lines.count == 20, "\(file.path)")
            for line in lines {
                guard case .audit(let event) = decoder.decode(line) else {
                    Issue.record("\(file.lastPathComponent): \(decoder.decode(line))")
                    continue
                }
                #expect(event.original == line)
                #expect(event.form == .osloEnvelope)
                Fixtures.expectFields(event, match: try Fixtures.innerMessage(ofEnvelope: line))
            }
        }
    }

    @Test("the request and the response of a pair share the id; the response carries status and latency")
    func pairsShareTheirID() throws {
        var decoder = NotificationDecoder(validator: Fixtures.validator)
        for file in Fixtures.sampleFiles() {
            var pairs: [String: [AuditNotification]] = [:]
            for line in try Fixtures.lines(file) {
                if case .audit(let event) = decoder.decode(line) { pairs[event.id, default: []].append(event) }
            }
            #expect(pairs.count == 10)
            for (id, halves) in pairs {
                let request = halves.first { $0.eventType == .request }
                let response = halves.first { $0.eventType == .response }
                #expect(halves.count == 2, "\(id)")
                #expect(request?.outcome == .pending)
                #expect(response?.outcome != .pending)
                #expect(request?.eventTime == response?.eventTime)
                #expect(request?.messageID != response?.messageID)
                #expect(response?.reasonCode != nil)
                #expect(request?.latencyNanoseconds == nil)
                let latency = try #require(response?.latencyNanoseconds)
                #expect(latency >= 0 && latency < 60_000_000_000)
            }
        }
    }

    @Test("the first sample, field by field")
    func firstSampleFields() throws {
        let file = try #require(Fixtures.sampleFiles().last)
        var decoder = NotificationDecoder(validator: Fixtures.validator)
        guard case .audit(let event) = decoder.decode(try #require(try Fixtures.lines(file).first)) else {
            Issue.record("first sample not decoded")
            return
        }
        #expect(event.id == "48d1ff70-52bd-5a6f-9ebe-ba70fbbc5a5d")
        #expect(event.eventType == .request)
        #expect(event.action == "read/list")
        #expect(event.outcome == .pending)
        #expect(event.eventTime.description == "2026-11-22T10:12:02.734485000Z")
        #expect(event.initiatorID == "5bdc7d833d79c0ea494e908360667235")
        #expect(event.initiatorName == "heidi.qa310")
        #expect(event.initiatorProjectID == "282ee0bc04a1bde44806aa81e65150b5")
        #expect(event.targetID == "18e8a74ee35ed14e384ca9d3940ccbbd")
        #expect(event.targetTypeURI == "service/compute/servers/detail")
        #expect(event.requestPath == "/v2.1/servers/detail")
        #expect(event.publisherID == "nova-api-wsgi")
        #expect(event.messageID == "5d993540-271f-43cf-8e22-e9c3ce99a38b")
        #expect(event.requestID == "req-b0a72c94-d601-4ac3-9488-6358e07572fc")
        #expect(event.globalRequestID == nil)
        #expect(event.reasonCode == nil)
    }

    @Test("the generated corpus is shaped like the samples and decodes whole")
    func generatedNotificationsDecode() throws {
        let corpus = SampleNotifications.corpus(count: 2000, seed: 7)
        #expect(corpus == SampleNotifications.corpus(count: 2000, seed: 7), "same seed, same bytes")
        var decoder = NotificationDecoder(validator: Fixtures.validator)
        var ids: [String: Int] = [:]
        for value in corpus {
            guard case .audit(let event) = decoder.decode(value) else {
                Issue.record("\(decoder.decode(value))")
                continue
            }
            Fixtures.expectFields(event, match: try Fixtures.innerMessage(ofEnvelope: value))
            ids[event.id, default: 0] += 1
        }
        #expect(ids.values.allSatisfy { $0 == 2 } && ids.count == 1000)
        let average = corpus.reduce(0) { $0 + $1.count } / corpus.count
        #expect((1400...2100).contains(average), "average \(average) B; the samples average ~1.7 KB")
    }

    @Test("generated envelopes are byte-exact Python json.dumps output")
    func generatedNotificationsArePythonBytes() throws {
        let corpus = SampleNotifications.corpus(count: 400, seed: 11)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("generated-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(corpus.map { $0 + [0x0A] }.joined()).write(to: file)
        let script = """
            import json, sys
            bad = 0
            for raw in open(sys.argv[1], "rb").read().splitlines():
                env = json.loads(raw)
                again = json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(json.loads(env["oslo.message"]))})
                bad += again.encode() != raw
            print(bad)
            """
        let output = try InteropCorpus.run(["/usr/bin/env", "python3", "-c", script, file.path], in: Fixtures.repositoryRoot)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }
}
