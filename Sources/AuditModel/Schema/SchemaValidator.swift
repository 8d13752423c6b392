// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// Validates CADF events and oslo notifications against the JSON Schemas in `schemas/`.
///
/// The schema files are the single source of truth (DESIGN §3): they are loaded when the validator
/// is made and compiled into a program (``SchemaProgram``), never copied by hand. Keywords: `type enum
/// const required properties additionalProperties items minLength maxLength pattern oneOf anyOf allOf
/// not $ref $defs dependentRequired minItems`; anything else is refused at load time.
public final class SchemaValidator: Sendable {
    /// What a document is validated as.
    public enum Kind: Sendable {
        /// A bare CADF event (`cadf-event.schema.json`).
        case event
        /// An oslo inner message (`notification.schema.json`).
        case notification
    }

    /// The `$id` suffixes of the two root schemas.
    public static let eventSchemaFile = "cadf-event.schema.json"
    public static let notificationSchemaFile = "notification.schema.json"

    let program: SchemaProgram
    private let eventRoot: Int32
    private let notificationRoot: Int32

    /// Compiles the given schema documents (the bytes of each file).
    ///
    /// Each document needs a `$id`; one must end in ``eventSchemaFile`` and one in
    /// ``notificationSchemaFile``. Schema files follow the same strict JSON rules as notifications.
    /// - Throws: ``DecodeError`` `schemaUnreadable` (not strict JSON), `schemaNotFound` (a root is
    ///   missing) or `unsupportedSchema`.
    public init(schemaDocuments: [[UInt8]]) throws {
        var documents: [SchemaValue] = []
        for bytes in schemaDocuments {
            do {
                documents.append(try SchemaValue.parse(bytes))
            } catch {
                throw DecodeError(.schemaUnreadable, "a schema document is not strict JSON: \(error.reason)")
            }
        }
        let program = try SchemaCompiler.compile(documents)
        func root(_ suffix: String) throws(DecodeError) -> Int32 {
            guard let match = program.roots.first(where: { $0.key.hasSuffix("/" + suffix) || $0.key == suffix }) else {
                throw DecodeError(.schemaNotFound, "no schema with an $id ending in \(suffix)")
            }
            return match.value
        }
        self.program = program
        eventRoot = try root(Self.eventSchemaFile)
        notificationRoot = try root(Self.notificationSchemaFile)
    }

    /// Validates a parsed document; `nil` when valid.
    package func violation(in document: JSONDocument, at index: Int = 0, as kind: Kind) -> QuarantineReason? {
        let root = kind == .event ? eventRoot : notificationRoot
        var fast = SchemaEvaluation(program: program, document: document, explain: false)
        if fast.check(root, index) { return nil }
        var slow = SchemaEvaluation(program: program, document: document, explain: true)
        _ = slow.check(root, index)
        let found = slow.violation ?? (rule: "unknown", pointer: "")
        return .schemaViolation(rule: found.rule, pointer: found.pointer)
    }

    /// Parses and validates one document's bytes: the byte-level rules, then the schema.
    ///
    /// This is the verdict the differential corpus compares against python-jsonschema.
    /// - Returns: `nil` when valid, else the reason.
    public func validate(_ bytes: [UInt8], as kind: Kind) -> QuarantineReason? {
        let parser = JSONParser()
        return validate(bytes, as: kind, parser: parser)
    }

    /// ``validate(_:as:)`` reusing a parser's buffers.
    package func validate(_ bytes: [UInt8], as kind: Kind, parser: JSONParser) -> QuarantineReason? {
        bytes.withUnsafeBytes { raw in
            switch parser.parse(raw, { violation(in: $0, as: kind) }) {
            case .success(let verdict): verdict
            case .failure(let failure): failure.reason
            }
        }
    }
}
