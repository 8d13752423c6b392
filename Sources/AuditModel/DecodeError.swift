// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// The error of the `AuditModel` module: problems with the schemas or their files, never with a
/// notification (bad notifications are data: ``QuarantineReason``).
///
/// NIOFS `FileSystemError` shape: a ``Code`` over a private enum, a human ``message``, an optional
/// ``cause`` and the source location. Equality compares ``code`` only.
public struct DecodeError: Error, Equatable, CustomStringConvertible, @unchecked Sendable {
    // @unchecked: `cause` is an immutable existential kept only for reporting.
    /// What went wrong.
    public var code: Code
    /// Human text, with the path or schema location.
    public var message: String
    /// The underlying error, if any.
    public var cause: (any Error)?
    /// Where the error was made.
    public var location: Location

    /// Creates an error at the caller's location.
    public init(
        _ code: Code, _ message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line,
        function: String = #function
    ) {
        self.code = code
        self.message = message
        self.cause = cause
        self.location = Location(file: file, line: line, function: function)
    }

    public static func == (lhs: DecodeError, rhs: DecodeError) -> Bool { lhs.code == rhs.code }

    public var description: String {
        "\(code): \(message)" + (cause.map { " (cause: \($0))" } ?? "")
    }

    /// A source location.
    public struct Location: Sendable {
        public var file: String
        public var line: Int
        public var function: String
    }

    /// The error kinds.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: Hashable, Sendable { case schemaNotFound, schemaUnreadable, unsupportedSchema }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// No schema file where one was looked for (bundle resource or `--schemas` directory).
        public static let schemaNotFound = Code(.schemaNotFound)
        /// A schema file could not be read or is not strict JSON (duplicate keys, too deep, …).
        public static let schemaUnreadable = Code(.schemaUnreadable)
        /// A schema uses a keyword, `$ref` or pattern construct the validator does not implement.
        public static let unsupportedSchema = Code(.unsupportedSchema)

        public var description: String {
            switch value {
            case .schemaNotFound: "schemaNotFound"
            case .schemaUnreadable: "schemaUnreadable"
            case .unsupportedSchema: "unsupportedSchema"
            }
        }
    }
}
