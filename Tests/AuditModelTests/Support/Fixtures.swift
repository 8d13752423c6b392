// AuditTrail — AuditModel tests
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import Foundation
import Testing

/// Paths and shared objects for the AuditModel tests.
enum Fixtures {
    /// The repository root (this file is Tests/AuditModelTests/Support/Fixtures.swift).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The validator for the bundled schemas, made once.
    static let validator: SchemaValidator = {
        do {
            return try SchemaValidator.bundled()
        } catch {
            fatalError("the bundled schemas do not load: \(error)")  // test setup, not input
        }
    }()

    /// Lines of a JSONL file, without blank lines.
    static func lines(_ url: URL) throws -> [[UInt8]] {
        let data = try Data(contentsOf: url)
        return [UInt8](data).split(separator: UInt8(ascii: "\n")).map(Array.init).filter { !$0.isEmpty }
    }

    /// The sample notifications: `../shared/samples/notifications.jsonl` beside the clone and the copy
    /// committed under Fixtures/. Fails the calling test if neither exists, so it never silently skips.
    static func sampleFiles(sourceLocation: SourceLocation = #_sourceLocation) -> [URL] {
        var files: [URL] = []
        let shared = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/samples/notifications.jsonl")
        if FileManager.default.fileExists(atPath: shared.path) { files.append(shared) }
        if let committed = Bundle.module.url(forResource: "Fixtures/notifications", withExtension: "jsonl") {
            files.append(committed)
        }
        if files.isEmpty { Issue.record("no sample notifications: neither ../shared/samples nor Fixtures/", sourceLocation: sourceLocation) }
        return files
    }

    /// The inner message of a 2.0 envelope, parsed with Foundation (the independent reference).
    static func innerMessage(ofEnvelope line: [UInt8]) throws -> [String: Any] {
        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        let inner = try #require(envelope["oslo.message"] as? String)
        return try #require(try JSONSerialization.jsonObject(with: Data(inner.utf8)) as? [String: Any])
    }

    /// Asserts that `event` carries the same fields as Foundation reads from `message` (an inner message).
    static func expectFields(_ event: AuditNotification, match message: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) {
        let payload = message["payload"] as? [String: Any] ?? [:]
        let initiator = payload["initiator"] as? [String: Any] ?? [:]
        let target = payload["target"] as? [String: Any] ?? [:]
        let reason = payload["reason"] as? [String: Any]
        let context = message["_context"] as? [String: Any] ?? [:]
        let chain = payload["reporterchain"] as? [[String: Any]]
        #expect(event.id == payload["id"] as? String, sourceLocation: sourceLocation)
        #expect(event.eventTypeText == message["event_type"] as? String, sourceLocation: sourceLocation)
        #expect(event.eventType.rawValue == message["event_type"] as? String, sourceLocation: sourceLocation)
        #expect(event.outcome.rawValue == payload["outcome"] as? String, sourceLocation: sourceLocation)
        #expect(event.action == payload["action"] as? String, sourceLocation: sourceLocation)
        #expect(event.eventTime == Timestamp.parse(payload["eventTime"] as? String ?? ""), sourceLocation: sourceLocation)
        #expect(event.initiatorID == initiator["id"] as? String, sourceLocation: sourceLocation)
        #expect(event.initiatorName == initiator["name"] as? String, sourceLocation: sourceLocation)
        #expect(event.initiatorProjectID == initiator["project_id"] as? String, sourceLocation: sourceLocation)
        #expect(event.targetID == target["id"] as? String, sourceLocation: sourceLocation)
        #expect(event.targetTypeURI == target["typeURI"] as? String, sourceLocation: sourceLocation)
        #expect(event.reasonCode == reason?["reasonCode"] as? String, sourceLocation: sourceLocation)
        #expect(event.requestPath == payload["requestPath"] as? String, sourceLocation: sourceLocation)
        #expect(event.publisherID == message["publisher_id"] as? String, sourceLocation: sourceLocation)
        #expect(event.messageID == message["message_id"] as? String, sourceLocation: sourceLocation)
        #expect(event.requestID == (initiator["request_id"] ?? context["request_id"]) as? String, sourceLocation: sourceLocation)
        #expect(event.globalRequestID == (initiator["global_request_id"] ?? context["global_request_id"]) as? String, sourceLocation: sourceLocation)
        let reporterTime = (chain?.first?["reporterTime"] as? String).flatMap(Timestamp.parse)
        #expect(event.reporterTime == reporterTime, sourceLocation: sourceLocation)
    }
}
