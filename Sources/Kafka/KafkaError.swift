// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

import CRdKafka

/// An error from the Kafka layer, keeping librdkafka's own detail.
///
/// Every failure that came from librdkafka records the C function that failed, the raw
/// `rd_kafka_resp_err_t` value with its symbolic name (`rd_kafka_err2name`), and for
/// `rd_kafka_error_t` the fatal / retriable / transaction-abort flags.
/// Equality compares ``code`` only, so tests can assert on codes.
public struct KafkaError: Error, Hashable, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public var code: Code
    /// Human text, with the topic / partition / offset or property involved.
    public var message: String
    /// The librdkafka function that failed, when the failure came from one.
    public var function: String?
    /// The raw `rd_kafka_resp_err_t`, when librdkafka reported one.
    public var rawValue: Int32?
    /// `rd_kafka_err2name` of ``rawValue`` (e.g. `_TRANSPORT`, `UNKNOWN_MEMBER_ID`).
    public var name: String?
    /// librdkafka marked the error fatal: the handle is unusable.
    public var isFatal: Bool
    /// librdkafka marked the error retriable.
    public var isRetriable: Bool
    /// librdkafka marked the error as requiring a transaction abort.
    public var txnRequiresAbort: Bool
    /// Where the error was raised.
    public var location: SourceLocation

    /// Where in this package an error was raised.
    public struct SourceLocation: Sendable, Hashable {
        public var fileID: String
        public var line: Int
    }

    /// An extensible error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case configuration, librdkafka, unsafeConfiguration, closed, timedOut, delivery, invalidArgument
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A configuration property was rejected (by librdkafka or by us).
        public static let configuration = Code(.configuration)
        /// A configuration that could lose audit data was refused (DESIGN §6.7).
        public static let unsafeConfiguration = Code(.unsafeConfiguration)
        /// A librdkafka call failed; see ``KafkaError/rawValue`` and ``KafkaError/name``.
        public static let librdkafka = Code(.librdkafka)
        /// The handle was already closed.
        public static let closed = Code(.closed)
        /// An operation did not finish within its deadline.
        public static let timedOut = Code(.timedOut)
        /// A message could not be delivered.
        public static let delivery = Code(.delivery)
        /// A caller passed an argument librdkafka cannot take.
        public static let invalidArgument = Code(.invalidArgument)

        public var description: String { base.rawValue }
    }

    /// Creates an error.
    public init(
        _ code: Code, _ message: String, function: String? = nil, rawValue: Int32? = nil,
        isFatal: Bool = false, isRetriable: Bool = false, txnRequiresAbort: Bool = false,
        fileID: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.function = function
        self.rawValue = rawValue
        self.name = rawValue.map { String(cString: rd_kafka_err2name(rd_kafka_resp_err_t($0))) }
        self.isFatal = isFatal
        self.isRetriable = isRetriable
        self.txnRequiresAbort = txnRequiresAbort
        self.location = SourceLocation(fileID: fileID, line: line)
    }

    /// An error from a plain `rd_kafka_resp_err_t`.
    static func resp(
        _ err: rd_kafka_resp_err_t, function: String, _ context: String = "",
        code: Code = .librdkafka, fileID: String = #fileID, line: Int = #line
    ) -> KafkaError {
        let text = String(cString: rd_kafka_err2str(err))
        return KafkaError(
            code, context.isEmpty ? "\(function): \(text)" : "\(function): \(text) (\(context))",
            function: function, rawValue: err.rawValue, fileID: fileID, line: line)
    }

    /// An error from an `rd_kafka_error_t`, which this call takes ownership of and destroys,
    /// so that no call site can forget to.
    static func consuming(
        _ error: OpaquePointer, function: String, fileID: String = #fileID, line: Int = #line
    ) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        let err = rd_kafka_error_code(error)
        return KafkaError(
            .librdkafka, "\(function): \(String(cString: rd_kafka_error_string(error)))",
            function: function, rawValue: err.rawValue,
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            isRetriable: rd_kafka_error_is_retriable(error) != 0,
            txnRequiresAbort: rd_kafka_error_txn_requires_abort(error) != 0,
            fileID: fileID, line: line)
    }

    /// Throws when `err` is not `RD_KAFKA_RESP_ERR_NO_ERROR`.
    static func check(
        _ err: rd_kafka_resp_err_t, function: String, _ context: @autoclosure () -> String = "",
        fileID: String = #fileID, line: Int = #line
    ) throws(KafkaError) {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw resp(err, function: function, context(), fileID: fileID, line: line)
        }
    }

    /// Throws when librdkafka returned an `rd_kafka_error_t` (and destroys it).
    static func check(
        _ error: OpaquePointer?, function: String, fileID: String = #fileID, line: Int = #line
    ) throws(KafkaError) {
        if let error { throw consuming(error, function: function, fileID: fileID, line: line) }
    }

    public var description: String {
        var text = "KafkaError.\(code): \(message)"
        if let name { text += " [\(name)]" }
        if isFatal { text += " (fatal)" }
        return text
    }

    public static func == (lhs: KafkaError, rhs: KafkaError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}

extension rd_kafka_resp_err_t {
    /// The symbolic librdkafka name of this error code.
    var name: String { String(cString: rd_kafka_err2name(self)) }
}
