// AuditTrail — object store
// SPDX-License-Identifier: Apache-2.0

/// A small, strict XML reader for the few S3 answers this client reads: ListObjectsV2,
/// errors, InitiateMultipartUpload and CompleteMultipartUpload.
///
/// Written here rather than using FoundationXML, which on Linux links libxml2 into every binary
/// that uses the module and whose parser delegate API is far larger than these flat documents
/// need. It reads elements, text, the five predefined entities and numeric references, CDATA,
/// comments and the XML declaration; attributes are skipped (S3 only sends `xmlns`). A DOCTYPE,
/// an unknown entity, a mismatched or unclosed tag is an error, never a guess.
struct XMLNode: Sendable {
    /// The element's name, as written (S3 uses no namespace prefixes).
    var name: String
    /// Child elements in document order.
    var children: [XMLNode] = []
    /// The element's own text, entities decoded (mixed content is concatenated).
    var text: String = ""

    /// The first child with this name.
    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    /// Every child with this name.
    func elements(named name: String) -> [XMLNode] { children.filter { $0.name == name } }
    /// The text of the first child with this name.
    func value(_ name: String) -> String? { child(name)?.text }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses a document and returns its root element.
    static func parse(_ bytes: [UInt8]) throws -> XMLNode {
        var parser = Parser(bytes: bytes)
        return try parser.document()
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
            // A UTF-8 byte order mark.
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        }

        func fail(_ message: String) -> ParseError { ParseError(description: "XML: \(message) at byte \(index)") }

        func starts(with literal: String) -> Bool { bytes[index...].starts(with: literal.utf8) }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        /// Moves past the next `terminator`, returning what came before it.
        mutating func take(until terminator: String) throws -> ArraySlice<UInt8> {
            let pattern = Array(terminator.utf8)
            var at = index
            while at + pattern.count <= bytes.count {
                if bytes[at..<at + pattern.count].elementsEqual(pattern) {
                    let body = bytes[index..<at]
                    index = at + pattern.count
                    return body
                }
                at += 1
            }
            throw fail("missing \(terminator)")
        }

        /// Skips the declaration, comments and processing instructions between markup.
        mutating func skipMisc() throws {
            while true {
                skipSpace()
                if starts(with: "<?") {
                    _ = try take(until: "?>")
                } else if starts(with: "<!--") {
                    _ = try take(until: "-->")
                } else if starts(with: "<!") && !starts(with: "<![CDATA[") {
                    throw fail("DOCTYPE and declarations are not accepted")
                } else {
                    return
                }
            }
        }

        mutating func document() throws -> XMLNode {
            try skipMisc()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "<") else { throw fail("no root element") }
            let root = try element()
            try skipMisc()
            guard index == bytes.count else { throw fail("content after the root element") }
            return root
        }

        mutating func name() throws -> String {
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if [0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ">"), UInt8(ascii: "/"), UInt8(ascii: "=")].contains(byte) {
                    break
                }
                index += 1
            }
            guard index > start else { throw fail("empty name") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        /// Parses one element, its `<` under `index`.
        mutating func element() throws -> XMLNode {
            index += 1
            var node = XMLNode(name: try name())
            // Attributes: name="value" or name='value', skipped.
            while true {
                skipSpace()
                guard index < bytes.count else { throw fail("unclosed start tag <\(node.name)") }
                if bytes[index] == UInt8(ascii: "/") {
                    guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ">") else { throw fail("bad />") }
                    index += 2
                    return node
                }
                if bytes[index] == UInt8(ascii: ">") {
                    index += 1
                    break
                }
                _ = try name()
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { throw fail("attribute without =") }
                index += 1
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'")
                else { throw fail("unquoted attribute") }
                let quote = String(UnicodeScalar(bytes[index]))
                index += 1
                _ = try take(until: quote)
            }
            // Content until the matching end tag.
            var text: [UInt8] = []
            while true {
                guard index < bytes.count else { throw fail("unclosed element <\(node.name)>") }
                if bytes[index] != UInt8(ascii: "<") {
                    let start = index
                    while index < bytes.count, bytes[index] != UInt8(ascii: "<") { index += 1 }
                    text += try Self.decodeEntities(bytes[start..<index])
                } else if starts(with: "</") {
                    index += 2
                    let end = try name()
                    skipSpace()
                    guard end == node.name, index < bytes.count, bytes[index] == UInt8(ascii: ">") else {
                        throw fail("</\(end)> closes <\(node.name)>")
                    }
                    index += 1
                    node.text = String(decoding: text, as: UTF8.self)
                    return node
                } else if starts(with: "<![CDATA[") {
                    index += "<![CDATA[".utf8.count
                    text += try take(until: "]]>")
                } else if starts(with: "<!--") {
                    _ = try take(until: "-->")
                } else if starts(with: "<?") {
                    _ = try take(until: "?>")
                } else {
                    node.children.append(try element())
                }
            }
        }

        static func decodeEntities(_ raw: ArraySlice<UInt8>) throws -> [UInt8] {
            guard raw.contains(UInt8(ascii: "&")) else { return Array(raw) }
            var out: [UInt8] = []
            var at = raw.startIndex
            while at < raw.endIndex {
                guard raw[at] == UInt8(ascii: "&") else {
                    out.append(raw[at])
                    at += 1
                    continue
                }
                guard let semicolon = raw[at...].firstIndex(of: UInt8(ascii: ";")) else {
                    throw ParseError(description: "XML: unterminated entity")
                }
                let entity = String(decoding: raw[(at + 1)..<semicolon], as: UTF8.self)
                switch entity {
                case "amp": out.append(UInt8(ascii: "&"))
                case "lt": out.append(UInt8(ascii: "<"))
                case "gt": out.append(UInt8(ascii: ">"))
                case "quot": out.append(UInt8(ascii: "\""))
                case "apos": out.append(UInt8(ascii: "'"))
                default:
                    let value: UInt32?
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                        value = UInt32(entity.dropFirst(2), radix: 16)
                    } else if entity.hasPrefix("#") {
                        value = UInt32(entity.dropFirst(), radix: 10)
                    } else {
                        value = nil
                    }
                    guard let value, let scalar = Unicode.Scalar(value) else {
                        throw ParseError(description: "XML: unknown entity &\(entity);")
                    }
                    out += Array(String(Character(scalar)).utf8)
                }
                at = semicolon + 1
            }
            return out
        }
    }
}

extension XMLNode {
    /// XML-escapes text for an element's content.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
