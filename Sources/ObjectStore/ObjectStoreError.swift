// AuditTrail — object store
// SPDX-License-Identifier: Apache-2.0

/// An error from an object store.
///
/// An enum rather than the project's code-struct shape (``StoreError``-like) because callers
/// branch on the case: ``preconditionFailed(key:)`` means "fenced, step down", everything else
/// means "the store failed, try later". Cases carry the key so messages name the object.
public enum ObjectStoreError: Error, CustomStringConvertible, Sendable {
    /// The write's condition did not hold (HTTP 412): another writer owns the key. Never retried.
    case preconditionFailed(key: String)
    /// The store answered 409 (a conflicting conditional write in flight) on every attempt.
    case conflict(key: String)
    /// The store answered with an unexpected status; `code` and `message` come from its XML error
    /// body when it had one.
    case http(status: Int, code: String?, message: String?, key: String?)
    /// The request never got an answer (connection refused or reset, timeout) on every attempt.
    case transport(key: String?, cause: any Error)
    /// The store answered something this client cannot read (malformed XML, missing ETag).
    case invalidResponse(key: String?, message: String)
    /// A configuration value is missing or invalid (credentials, `s3://` location, endpoint).
    case configuration(String)
    /// A local file could not be read or written.
    case io(path: String, message: String)

    public var description: String {
        switch self {
        case .preconditionFailed(let key):
            return "object store: precondition failed on \(key) (HTTP 412): another writer holds it"
        case .conflict(let key):
            return "object store: conflicting writes on \(key) (HTTP 409) persisted through retries"
        case .http(let status, let code, let message, let key):
            var text = "object store: HTTP \(status)"
            if let code { text += " \(code)" }
            if let key { text += " on \(key)" }
            if let message, !message.isEmpty { text += ": \(message)" }
            return text
        case .transport(let key, let cause):
            return "object store: no answer\(key.map { " for \($0)" } ?? ""): \(cause)"
        case .invalidResponse(let key, let message):
            return "object store: unreadable answer\(key.map { " for \($0)" } ?? ""): \(message)"
        case .configuration(let message):
            return "object store configuration: \(message)"
        case .io(let path, let message):
            return "object store: \(path): \(message)"
        }
    }
}
