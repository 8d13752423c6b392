// AuditTrail — segment store

#if canImport(Glibc)
import Glibc
#endif
// SPDX-License-Identifier: Apache-2.0

/// An error from the segment store.
///
/// Shaped like NIOFS's `FileSystemError`: an extensible ``Code``, human text naming the path,
/// log or offset involved, the underlying cause and where it was raised. Equality compares
/// ``code`` only, so tests assert on codes.
public struct StoreError: Error, Hashable, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public var code: Code
    /// Human text, with the path, topic/partition or offset involved.
    public var message: String
    /// The underlying error (an `errno` as ``Errno``, a zstd failure, …), if any.
    public var cause: (any Error & Sendable)?
    /// Where the error was raised.
    public var location: SourceLocation

    /// Where in this package an error was raised.
    public struct SourceLocation: Sendable, Hashable {
        /// `#fileID` of the raising site.
        public var fileID: String
        /// `#line` of the raising site.
        public var line: Int
        /// `#function` of the raising site.
        public var function: String
    }

    /// An extensible error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case io, locked, fenced, corrupt, invalidArgument, nonContiguous, compression, closed, notFound
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A system call failed (open, write, fsync, rename, …); see ``StoreError/cause``.
        public static let io = Code(.io)
        /// Another writer holds the log's lock.
        public static let locked = Code(.locked)
        /// A newer writer took the log over (its epoch is higher): this writer must stop.
        public static let fenced = Code(.fenced)
        /// Stored bytes do not decode as the format says.
        public static let corrupt = Code(.corrupt)
        /// A caller passed a value the store cannot take.
        public static let invalidArgument = Code(.invalidArgument)
        /// A record's offset does not follow the log's next offset.
        public static let nonContiguous = Code(.nonContiguous)
        /// zstd failed to compress, decompress or train a dictionary.
        public static let compression = Code(.compression)
        /// The writer was closed.
        public static let closed = Code(.closed)
        /// A requested log or file does not exist.
        public static let notFound = Code(.notFound)

        public var description: String { base.rawValue }
    }

    /// Creates an error.
    public init(
        _ code: Code, _ message: String, cause: (any Error & Sendable)? = nil,
        fileID: String = #fileID, line: Int = #line, function: String = #function
    ) {
        self.code = code
        self.message = message
        self.cause = cause
        self.location = SourceLocation(fileID: fileID, line: line, function: function)
    }

    /// An ``Code/io`` error for a failed system call, keeping `errno`.
    static func system(
        _ call: String, path: String, errno value: Int32,
        fileID: String = #fileID, line: Int = #line, function: String = #function
    ) -> StoreError {
        StoreError(
            .io, "\(call) \(path): \(Errno(rawValue: value))", cause: Errno(rawValue: value),
            fileID: fileID, line: line, function: function)
    }

    public static func == (lhs: StoreError, rhs: StoreError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public var description: String { "StoreError.\(code): \(message)" }
}

/// A raw `errno` value with its `strerror` text.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    /// The `errno` value.
    public var rawValue: Int32
    /// Wraps an `errno` value.
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public var description: String { "\(String(cString: strerror(rawValue))) (errno \(rawValue))" }
}
