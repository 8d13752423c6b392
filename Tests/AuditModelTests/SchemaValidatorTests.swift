// AuditTrail — AuditModel tests
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import Foundation
import Testing

/// The validator's loading rules and the keywords the bundled schemas do not use.
struct SchemaValidatorTests {
    static func validator(_ eventSchema: String) throws -> SchemaValidator {
        let notification = #"{"$id": "https://x.example/notification.schema.json", "type": "object"}"#
        return try SchemaValidator(schemaDocuments: [Array(eventSchema.utf8), Array(notification.utf8)])
    }

    static func verdict(_ schema: String, _ instance: String) throws -> String? {
        try validator(#"{"$id": "https://x.example/cadf-event.schema.json", "#.appending(schema.dropFirst()))
            .validate(Array(instance.utf8), as: .event).map { "\($0.rule ?? "") \($0.pointer ?? "")" }
    }

    @Test("the bundled schemas load from the resource bundle and from schemas/")
    func loads() throws {
        _ = try SchemaValidator.bundled()
        _ = try SchemaValidator(directory: Fixtures.repositoryRoot.appendingPathComponent("schemas").path)
        #expect(throws: DecodeError.self) { try SchemaValidator(directory: "/nonexistent") }
    }

    @Test("unknown keywords, broken $refs, bad patterns and non-strict schema JSON are refused at load")
    func refusals() {
        for schema in [
            #"{"$id": "https://x.example/cadf-event.schema.json", "minimum": 3}"#,
            ##"{"$id": "https://x.example/cadf-event.schema.json", "$ref": "#/$defs/missing"}"##,
            #"{"$id": "https://x.example/cadf-event.schema.json", "pattern": "(?=x)"}"#,
            #"{"$id": "https://x.example/cadf-event.schema.json", "type": "string", "type": "object"}"#,
        ] {
            #expect(throws: DecodeError.self, "\(schema)") { try Self.validator(schema) }
        }
    }

    @Test("keywords beyond the bundled schemas: maxLength, minItems, dependentRequired, additionalProperties, const, items")
    func otherKeywords() throws {
        #expect(try Self.verdict(#"{"maxLength": 3}"#, #""abcd""#) == "maxLength ")
        #expect(try Self.verdict(#"{"maxLength": 3}"#, #""\u00e9\u00e9\u00e9""#) == nil)
        #expect(try Self.verdict(#"{"minItems": 2}"#, "[1]") == "minItems ")
        #expect(try Self.verdict(#"{"dependentRequired": {"a": ["b"]}}"#, #"{"a": 1}"#) == "dependentRequired ")
        #expect(try Self.verdict(#"{"dependentRequired": {"a": ["b"]}}"#, #"{"a": 1, "b": 2}"#) == nil)
        #expect(try Self.verdict(#"{"properties": {"a": true}, "additionalProperties": false}"#, #"{"a": 1, "b/c": 2}"#) == "false /b~1c")
        #expect(try Self.verdict(#"{"const": {"a": [1, 2.0]}}"#, #"{"a": [1.0, 2]}"#) == nil)
        #expect(try Self.verdict(#"{"items": {"type": "integer"}}"#, "[1, 2.0, 3.5]") == "type /2")
        #expect(try Self.verdict(#"{"enum": [true]}"#, "1") == "enum ")
    }

    @Test("patterns: ECMA-262 search semantics on code points", arguments: [
        ("^(read|update)", "readonly", true), ("^(read|update)", "list", false), ("[^0-9TZ:.+-]", "2026-11-22T10", false),
        ("[^0-9TZ:.+-]", "2026-11-22\u{662}", true), ("^a{2,3}$", "aaaa", false), ("^a{2,3}$", "aaa", true),
        ("^(ab)?c+$", "c", true), ("x*", "", true), ("^$", "", true), ("^.$", "\u{1F600}", true), ("^.$", "\n", false),
        ("b$", "ab\n", false), ("\\d\\.\\d", "3.1", true), ("^[a-c-]+$", "a-c", true),
    ])
    func patterns(pattern: String, text: String, matches: Bool) throws {
        let escapedPattern = String(decoding: try JSONSerialization.data(withJSONObject: pattern, options: .fragmentsAllowed), as: UTF8.self)
        let escapedText = String(decoding: try JSONSerialization.data(withJSONObject: text, options: .fragmentsAllowed), as: UTF8.self)
        let verdict = try Self.verdict("{\"pattern\": \(escapedPattern)}", escapedText)
        #expect((verdict == nil) == matches, "\(pattern) on \(text.debugDescription)")
    }
}
