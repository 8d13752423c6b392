// AuditTrail — client tests
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditTesting
import Foundation
import Testing

/// Our serialisation against what keystonemiddleware + oslo.messaging really put on the wire.
struct WireFormatTests {
    /// Rebuilds the CADF event of a captured notification from its parsed fields.
    static func event(from payload: [String: Any]) throws -> CADFEvent {
        func string(_ dict: [String: Any]?, _ key: String) -> String? { dict?[key] as? String }
        let initiator = try #require(payload["initiator"] as? [String: Any])
        let credential = initiator["credential"] as? [String: Any]
        let host = initiator["host"] as? [String: Any]
        let target = try #require(payload["target"] as? [String: Any])
        let addresses = (target["addresses"] as? [[String: Any]] ?? []).map { ($0["name"] as! String, $0["url"] as! String) }
        let reason = payload["reason"] as? [String: Any]
        let reporter = (payload["reporterchain"] as? [[String: Any]])?.first
        return CADFEvent(
            id: try #require(string(payload, "id")), eventTime: try #require(string(payload, "eventTime")),
            action: try #require(string(payload, "action")), outcome: try #require(string(payload, "outcome")),
            initiator: CADFEvent.Initiator(
                id: try #require(string(initiator, "id")), name: try #require(string(initiator, "name")),
                maskedToken: string(credential, "token") ?? "", identityStatus: string(credential, "identity_status") ?? "",
                hostAddress: string(host, "address"), hostAgent: string(host, "agent"),
                projectID: try #require(string(initiator, "project_id")), requestID: string(initiator, "request_id"),
                globalRequestID: string(initiator, "global_request_id")),
            target: CADFEvent.Target(
                id: try #require(string(target, "id")), typeURI: try #require(string(target, "typeURI")),
                name: try #require(string(target, "name")), addresses: addresses),
            requestPath: try #require(string(payload, "requestPath")), tags: payload["tags"] as? [String] ?? [],
            reason: reason.map { CADFEvent.Reason(reasonType: $0["reasonType"] as! String, reasonCode: $0["reasonCode"] as! String) },
            reporterTime: reporter?["reporterTime"] as? String)
    }

    static func sampleLines() throws -> [String] {
        let url = Interop.sharedSamples.appendingPathComponent("notifications.jsonl")
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").map(String.init)
    }

    @Test func everyCapturedNotificationIsReproducedByteForByte() throws {
        let lines = try Self.sampleLines()
        #expect(lines.count == 20)
        for line in lines {
            let envelope = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let innerText = try #require(envelope["oslo.message"] as? String)
            let inner = try #require(JSONSerialization.jsonObject(with: Data(innerText.utf8)) as? [String: Any])
            let payload = try #require(inner["payload"] as? [String: Any])
            let notification = OsloNotification(
                messageID: inner["message_id"] as! String, publisherID: inner["publisher_id"] as! String,
                eventType: try #require(AuditEventType(rawValue: inner["event_type"] as! String)),
                priority: inner["priority"] as! String, payload: try Self.event(from: payload),
                timestamp: inner["timestamp"] as! String)
            let ours = String(decoding: notification.envelope, as: UTF8.self)
            #expect(ours == line)
        }
    }

    @Test func stringsAreEscapedAsPythonJSONDumpsDoes() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "Z", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{0}", "\u{1f}",
                                     "\u{7f}", "\u{80}", "é", "ß", "中", "\u{2028}", "😀", "🇩🇪", "\u{fffd}", "'"]
        let strings = (0..<300).map { _ in String((0..<Int.random(in: 0...24, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }) }
        let input = try JSONSerialization.data(withJSONObject: strings)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("strings-\(UUID()).json")
        try input.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let python = try Interop.run(
            URL(fileURLWithPath: "/usr/bin/env"),
            ["python3", "-c", "import json,sys\nfor s in json.load(open(sys.argv[1])): print(json.dumps(s))", file.path])
        #expect(python.status == 0, "\(python.stderr)")
        let expected = python.lines
        #expect(expected.count == strings.count)
        for (string, want) in zip(strings, expected) {
            #expect(String(decoding: JSONWriter.quoted(string), as: UTF8.self) == want)
        }
    }

    /// The double encoding with every character class that needs escaping, in every string field:
    /// Python reads our envelope and writes it again as oslo does (`json.dumps` of the inner
    /// message, then of the envelope); the bytes must be ours, and the fields what we put in.
    @Test func envelopesWithCharactersToEscapeAreWhatPythonWrites() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "Z", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{8}", "\u{c}", "\u{0}", "\u{1f}",
                                     "\u{7f}", "é", "中", "\u{2028}", "😀", "'", ":", ",", "{", "]"]
        func text() -> String {
            String((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
        }
        var names: [String] = []
        let lines = (0..<200).map { _ -> String in
            let name = text()
            names.append(name)
            let event = CADFEvent(
                id: text(), eventTime: text(), action: text(), outcome: text(),
                initiator: CADFEvent.Initiator(
                    id: text(), name: name, maskedToken: text(), identityStatus: text(), hostAddress: text(),
                    hostAgent: text(), projectID: text(), requestID: text(), globalRequestID: text()),
                target: CADFEvent.Target(id: text(), typeURI: text(), name: text(), addresses: [(text(), text()), (text(), text())]),
                requestPath: text(), tags: [text(), text()], reason: CADFEvent.Reason(reasonType: text(), reasonCode: text()),
                reporterTime: text())
            let notification = OsloNotification(
                messageID: text(), publisherID: text(), eventType: .response, priority: text(), payload: event, timestamp: text())
            return String(decoding: notification.envelope, as: UTF8.self)
        }
        #expect(lines.allSatisfy { !$0.contains("\n") })
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("envelopes-\(UUID()).jsonl")
        try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = """
            import json, sys
            for line in open(sys.argv[1], encoding="ascii"):
                envelope = json.loads(line)
                inner = json.loads(envelope["oslo.message"])
                print(json.dumps({"oslo.version": envelope["oslo.version"], "oslo.message": json.dumps(inner)}))
                print(json.dumps(inner["payload"]["initiator"]["name"]))
            """
        let python = try Interop.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, file.path])
        #expect(python.status == 0, "\(python.stderr)")
        let written = python.lines
        #expect(written.count == 2 * lines.count)
        for (index, line) in lines.enumerated() where 2 * index + 1 < written.count {
            #expect(written[2 * index] == line)
            #expect(written[2 * index + 1] == String(decoding: JSONWriter.quoted(names[index]), as: UTF8.self))
        }
    }

    @Test func tokensAreMaskedAsPycadfMasksThem() throws {
        let tokens = (0..<80).map { String(repeating: "abcdefghij", count: 9).prefix($0) }.map(String.init)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID()).json")
        try JSONSerialization.data(withJSONObject: tokens).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try Interop.run(
            try Interop.python(),
            ["-c", "import json,sys\nfrom pycadf import utils\nfor t in json.load(open(sys.argv[1])): print(json.dumps(utils.mask_value(t)))", file.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines == tokens.map { String(decoding: JSONWriter.quoted(CADFEvent.maskToken($0)), as: UTF8.self) })
    }

    @Test func timestampsUseTheWireFormats() {
        // 2026-11-22 10:12:02.734485 UTC
        let us: Int64 = 1_795_342_322_734_485
        #expect(Timestamps.cadf(microsecondsSinceEpoch: us) == "2026-11-22T10:12:02.734485+0000")
        #expect(Timestamps.oslo(microsecondsSinceEpoch: us) == "2026-11-22 10:12:02.734485")
        #expect(Timestamps.oslo(microsecondsSinceEpoch: 1_795_342_323_000_000) == "2026-11-22 10:12:03")
        #expect(Timestamps.cadf(microsecondsSinceEpoch: 0) == "1970-01-01T00:00:00.000000+0000")
        #expect(Timestamps.cadf(microsecondsSinceEpoch: 951_782_400_000_001) == "2000-02-29T00:00:00.000001+0000")
        let id = UUIDText.random()
        #expect(id.count == 36 && id == id.lowercased() && Array(id)[14] == "4")
        #expect(["8", "9", "a", "b"].contains(Array(id)[19]))
        #expect(id.split(separator: "-").map(\.count) == [8, 4, 4, 4, 12])
    }
}
