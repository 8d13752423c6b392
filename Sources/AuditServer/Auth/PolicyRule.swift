// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

/// A rule over a ``ValidatedToken``, in a small subset of OpenStack's policy language (as in
/// Hermes' policy.json).
///
/// ```
/// rule  := term ("or" term)*
/// term  := unary ("and" unary)*
/// unary := "not" unary | "(" rule ")" | check
/// check := "@" | "!" | ATTRIBUTE ":" VALUE
/// ```
/// Attributes: `role` (the token holds the role; compared without case, as OpenStack does),
/// `project_id`, `project_name`, `domain_id`, `domain_name` (exact), and `is_admin_project`
/// (`true` or `false`; a token that does not say counts as `true`, as OpenStack services read
/// Keystone's tokens). `@` always holds and `!` never does. `not` binds tighter than `and`, which
/// binds tighter than `or`. Values end at a space or a parenthesis. Unlike oslo.policy, an empty
/// rule is an error, not "everyone": the rule grants reading the whole trail.
public indirect enum PolicyRule: Sendable, Hashable, CustomStringConvertible {
    case always
    case never
    case check(Attribute, String)
    case not(PolicyRule)
    case and(PolicyRule, PolicyRule)
    case or(PolicyRule, PolicyRule)

    /// What a check tests.
    public enum Attribute: String, Sendable, Hashable, CaseIterable {
        case role
        case projectID = "project_id"
        case projectName = "project_name"
        case domainID = "domain_id"
        case domainName = "domain_name"
        case isAdminProject = "is_admin_project"
    }

    /// A rule text that does not parse.
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Parses `text`.
    /// - Throws: ``ParseError`` naming what is wrong and where.
    public init(parsing text: String) throws(ParseError) {
        var parser = Parser(tokens: Self.tokens(text), text: text)
        guard !parser.tokens.isEmpty else { throw ParseError(description: "an empty rule (write ! for nobody, @ for everyone)") }
        self = try parser.rule()
        if parser.position < parser.tokens.count {
            throw ParseError(description: "unexpected '\(parser.tokens[parser.position])' in \"\(text)\"")
        }
    }

    /// Whether `token` satisfies the rule.
    public func matches(_ token: ValidatedToken) -> Bool {
        switch self {
        case .always: return true
        case .never: return false
        case .not(let rule): return !rule.matches(token)
        case .and(let a, let b): return a.matches(token) && b.matches(token)
        case .or(let a, let b): return a.matches(token) || b.matches(token)
        case .check(let attribute, let value):
            switch attribute {
            case .role: return token.roles.contains { $0.lowercased() == value.lowercased() }
            case .projectID: return token.projectID == value
            case .projectName: return token.projectName == value
            case .domainID: return token.domainID == value
            case .domainName: return token.domainName == value
            case .isAdminProject: return (token.isAdminProject ?? true) == (value.lowercased() == "true")
            }
        }
    }

    /// The rule in the language it parses from, fully parenthesised.
    public var description: String {
        switch self {
        case .always: return "@"
        case .never: return "!"
        case .check(let attribute, let value): return "\(attribute.rawValue):\(value)"
        case .not(let rule): return "not \(rule.parenthesised)"
        case .and(let a, let b): return "\(a.parenthesised) and \(b.parenthesised)"
        case .or(let a, let b): return "\(a.parenthesised) or \(b.parenthesised)"
        }
    }

    private var parenthesised: String {
        switch self {
        case .and, .or: return "(\(description))"
        default: return description
        }
    }

    private static func tokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var word = ""
        for character in text {
            if character == "(" || character == ")" || character.isWhitespace {
                if !word.isEmpty { tokens.append(word) }
                word = ""
                if !character.isWhitespace { tokens.append(String(character)) }
            } else {
                word.append(character)
            }
        }
        if !word.isEmpty { tokens.append(word) }
        return tokens
    }

    private struct Parser {
        let tokens: [String]
        let text: String
        var position = 0

        mutating func rule() throws(ParseError) -> PolicyRule {
            var rule = try term()
            while peek == "or" {
                position += 1
                rule = .or(rule, try term())
            }
            return rule
        }

        mutating func term() throws(ParseError) -> PolicyRule {
            var rule = try unary()
            while peek == "and" {
                position += 1
                rule = .and(rule, try unary())
            }
            return rule
        }

        mutating func unary() throws(ParseError) -> PolicyRule {
            guard let token = peek else { throw ParseError(description: "\"\(text)\" ends where a check was expected") }
            position += 1
            switch token {
            case "not": return .not(try unary())
            case "(":
                let rule = try rule()
                guard peek == ")" else { throw ParseError(description: "a '(' is not closed in \"\(text)\"") }
                position += 1
                return rule
            case "@": return .always
            case "!": return .never
            default:
                guard let colon = token.firstIndex(of: ":"),
                    let attribute = Attribute(rawValue: String(token[..<colon]))
                else {
                    let known = Attribute.allCases.map(\.rawValue).joined(separator: ", ")
                    throw ParseError(description: "'\(token)' is not a check (\(known), @ or !) in \"\(text)\"")
                }
                let value = String(token[token.index(after: colon)...])
                guard !value.isEmpty else { throw ParseError(description: "'\(token)' has no value in \"\(text)\"") }
                if attribute == .isAdminProject, !["true", "false"].contains(value.lowercased()) {
                    throw ParseError(description: "is_admin_project takes true or false, not '\(value)'")
                }
                return .check(attribute, value)
            }
        }

        var peek: String? { position < tokens.count ? tokens[position] : nil }
    }
}
