// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// Why a notification cannot be accepted: the machine-readable half of a quarantine record.
///
/// Bad input is data, not an error that escapes (STYLE §7.4): the decoder returns a reason next to
/// the original bytes and the pipeline stores both. Equality compares ``code`` only, so tests assert
/// codes; ``rule``, ``pointer`` and ``offset`` carry the detail.
public struct QuarantineReason: Hashable, Sendable, CustomStringConvertible {
    /// What kind of defect the input has.
    public var code: Code
    /// The schema keyword that failed (`required`, `pattern`, `oneOf`, …), for ``Code/schemaViolation``.
    public var rule: String?
    /// The JSON Pointer (RFC 6901) of the failing instance location, `""` for the root.
    ///
    /// For a notification it is relative to the inner oslo message (`/payload/eventTime`).
    public var pointer: String?
    /// The byte offset where the defect was found, for byte-level codes, when known.
    public var offset: Int?

    /// Creates a reason.
    /// - Parameters:
    ///   - code: the defect.
    ///   - rule: the failing schema keyword, if any.
    ///   - pointer: the failing instance location, if any.
    ///   - offset: the byte offset of the defect, if known.
    public init(_ code: Code, rule: String? = nil, pointer: String? = nil, offset: Int? = nil) {
        self.code = code
        self.rule = rule
        self.pointer = pointer
        self.offset = offset
    }

    /// A schema violation at a location.
    public static func schemaViolation(rule: String, pointer: String) -> QuarantineReason {
        QuarantineReason(.schemaViolation, rule: rule, pointer: pointer)
    }

    public static func == (lhs: QuarantineReason, rhs: QuarantineReason) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// `code`, then the rule and pointer or the offset: `schemaViolation pattern at /payload/eventTime`.
    public var description: String {
        var text = code.description
        if let rule { text += " \(rule)" }
        if let pointer { text += " at \(pointer.isEmpty ? "/" : pointer)" }
        if let offset { text += " (byte \(offset))" }
        return text
    }

    /// The defect kinds. A struct over a private enum, so codes can be added without breaking users.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable {
            case notJSON, tooDeep, duplicateKey, tooLarge, unknownEnvelope, schemaViolation
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Not strict UTF-8, or not one RFC 8259 JSON text, or an unpaired surrogate escape.
        public static let notJSON = Code(.notJSON)
        /// Containers nested deeper than ``JSONParser/maxDepth`` (512).
        public static let tooDeep = Code(.tooDeep)
        /// An object with two members of the same name (after unescaping).
        public static let duplicateKey = Code(.duplicateKey)
        /// Larger than the decoder accepts (offsets are 32-bit: 2 GiB).
        public static let tooLarge = Code(.tooLarge)
        /// JSON, but none of the wire forms of DESIGN §2 (or an envelope whose message is not a string).
        public static let unknownEnvelope = Code(.unknownEnvelope)
        /// A well-formed document that the schemas in `schemas/` reject.
        public static let schemaViolation = Code(.schemaViolation)

        /// The code's name, as used in logs, metrics labels and `--json` output.
        public var description: String {
            switch value {
            case .notJSON: "notJSON"
            case .tooDeep: "tooDeep"
            case .duplicateKey: "duplicateKey"
            case .tooLarge: "tooLarge"
            case .unknownEnvelope: "unknownEnvelope"
            case .schemaViolation: "schemaViolation"
            }
        }
    }
}
