// AuditTrail — read side
// SPDX-License-Identifier: Apache-2.0

/// An error from the read side: a filter, time, sort key or cursor that does not parse.
///
/// NIOFS-shaped like the store's error: an extensible ``Code``, human text naming the value at
/// fault, and where it was raised. Equality compares ``code`` only.
public struct QueryError: Error, Hashable, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public var code: Code
    /// Human text naming the value at fault (what the CLI prints and the API returns).
    public var message: String
    /// `#fileID:#line` of the raising site.
    public var location: String

    /// An extensible error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A filter name that is not one of the read side's.
        public static let unknownFilter = Code("unknownFilter")
        /// A filter value that does not parse (a status that is not a number, a time that is not one).
        public static let invalidValue = Code("invalidValue")
        /// A sort key that is not one of the read side's.
        public static let unknownSortKey = Code("unknownSortKey")
        /// A cursor that does not belong to the query.
        public static let invalidCursor = Code("invalidCursor")
        public var description: String { name }
    }

    /// An error with `code` and `message`.
    public init(_ code: Code, _ message: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        location = "\(fileID):\(line)"
    }

    public var description: String { message }

    public static func == (lhs: QueryError, rhs: QueryError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
