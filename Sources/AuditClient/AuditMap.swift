// AuditTrail — client
// SPDX-License-Identifier: Apache-2.0

/// keystonemiddleware's audit map (`api_audit_map.conf`): how a request's path and method
/// become a CADF action and a target `typeURI`.
///
/// Sections: `[DEFAULT]` (`target_endpoint_type`), `[path_keywords]`, `[custom_actions]`,
/// `[service_endpoints]`. Parsed as Python's `configparser` does: keys lower-cased, `=` or `:`
/// separators, `#`/`;` comments, and DEFAULT's keys visible in every section.
public struct AuditMap: Sendable, Equatable {
    /// Path segments that name collections, and the name of the segment that follows them.
    public var pathKeywords: [String: String]
    /// `<url ending>` or `<url ending>/<method>` to an action.
    public var customActions: [String: String]
    /// Catalog service type to CADF service type (e.g. `compute` → `service/compute`).
    public var serviceEndpoints: [String: String]
    /// `target_endpoint_type` from DEFAULT.
    public var defaultTargetEndpointType: String?

    /// An audit map.
    public init(
        pathKeywords: [String: String] = [:], customActions: [String: String] = [:],
        serviceEndpoints: [String: String] = [:], defaultTargetEndpointType: String? = nil
    ) {
        self.pathKeywords = pathKeywords
        self.customActions = customActions
        self.serviceEndpoints = serviceEndpoints
        self.defaultTargetEndpointType = defaultTargetEndpointType
    }

    /// An error in an audit map file.
    public struct ParseError: Error, CustomStringConvertible {
        /// 1-based line number.
        public var line: Int
        /// What is wrong.
        public var message: String
        public var description: String { "audit map line \(line): \(message)" }
    }

    /// Parses the text of an `api_audit_map.conf`.
    public init(parsing text: String) throws(ParseError) {
        var sections: [String: [String: String]] = [:]
        var current: String?
        var lastKey: String?
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine[...]
            let trimmed = line.trimmingSpaces()
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if line.first == " " || line.first == "\t", let section = current, let key = lastKey {
                // A continuation line extends the previous value.
                sections[section, default: [:]][key, default: ""] += "\n" + trimmed
                continue
            }
            if trimmed.hasPrefix("[") {
                guard trimmed.hasSuffix("]") else { throw ParseError(line: index + 1, message: "unclosed section header") }
                current = String(trimmed.dropFirst().dropLast())
                lastKey = nil
                continue
            }
            guard let section = current else { throw ParseError(line: index + 1, message: "entry before any section") }
            guard let separator = trimmed.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw ParseError(line: index + 1, message: "expected key = value")
            }
            let key = trimmed[..<separator].trimmingSpaces().lowercased()
            let value = trimmed[trimmed.index(after: separator)...].trimmingSpaces()
            sections[section, default: [:]][key] = value
            lastKey = key
        }
        let defaults = sections["DEFAULT"] ?? [:]
        func items(_ name: String) -> [String: String] {
            guard let section = sections[name] else { return [:] }
            return defaults.merging(section) { $1 }
        }
        self.init(
            pathKeywords: items("path_keywords"), customActions: items("custom_actions"),
            serviceEndpoints: items("service_endpoints"), defaultTargetEndpointType: defaults["target_endpoint_type"])
    }

    /// The CADF action for a call, exactly as keystonemiddleware's `get_action`.
    ///
    /// - Parameter bodyFirstKey: for `POST …/action`, the first key of the JSON body.
    public func action(method: String, path: String, bodyFirstKey: String? = nil) -> String {
        let trimmed = path.utf8.last == UInt8(ascii: "/") ? path.dropLast() : path[...]
        let lastSlash = trimmed.utf8.lastIndex(of: UInt8(ascii: "/"))
        let ending = String(Self.cleanPath(trimmed[(lastSlash.map { trimmed.utf8.index(after: $0) } ?? trimmed.startIndex)...]))
        let method = method.uppercased()
        if !customActions.isEmpty {
            if let custom = customActions[ending + "/" + method.lowercased()] { return custom }
            if let custom = customActions[ending] { return custom }
        }
        switch method {
        case "POST":
            if ending == "action" { return bodyFirstKey.map { "update/\($0)" } ?? "create" }
            return pathKeywords[ending] == nil ? "update" : "create"
        case "GET": return pathKeywords[ending] == nil ? "read" : "read/list"
        case "PUT", "PATCH": return "update"
        case "DELETE": return "delete"
        case "HEAD": return "read"
        default: return "unknown"
        }
    }

    /// The target `typeURI` for a call to a service of (catalog) type `serviceType`, as
    /// keystonemiddleware's `_build_typeURI`; `unknown` when the type is not mapped.
    public func targetTypeURI(serviceType: String?, path: String) -> String {
        guard let serviceType, let mapped = serviceEndpoints[serviceType], mapped != "unknown" else { return "unknown" }
        var typeURI = mapped
        // What the previous segment names when it is a path keyword (`servers` → `server`).
        var previousName: String?
        var rest = path[...]
        while true {
            let end = rest.utf8.firstIndex(of: UInt8(ascii: "/")) ?? rest.endIndex
            let key = String(Self.cleanPath(rest[..<end]))
            let name = pathKeywords[key]
            if name != nil {
                typeURI += "/"
                typeURI += key
            } else if let previousName {
                typeURI += "/"
                typeURI += previousName
            }
            previousName = name
            guard end < rest.endIndex else { break }
            rest = rest[rest.utf8.index(after: end)...]
        }
        return typeURI
    }

    private static func cleanPath(_ value: Substring) -> Substring {
        value.utf8.count >= 5 && value.utf8.suffix(5).elementsEqual(".json".utf8)
            ? value[..<value.utf8.index(value.endIndex, offsetBy: -5)] : value
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (configparser's and HTTP's notion of blank).
    package func trimmingSpaces() -> String {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
