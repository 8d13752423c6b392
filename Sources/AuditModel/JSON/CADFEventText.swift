// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// The CADF event inside a stored notification, as compact JSON text, for readers that serve
/// the event itself (Hermes' `GET /v1/events/{id}`).
///
/// Every stored wire form holds it: the `payload` of the oslo message (inside a 2.0 envelope's
/// `oslo.message` string, or the v1 message itself), the JSON after the prefix of a log-driver
/// line, or the bare event. Parsed with the strict tape parser and written back from the tape:
/// members in their stored order, strings and numbers byte for byte as stored (escapes kept),
/// no whitespace. Foundation's `JSONSerialization` did the same at a quarter of a request's time.
public enum CADFEventText {
    /// The CADF event of a stored notification's bytes, or `nil` when they hold none.
    public static func json(from bytes: [UInt8]) -> [UInt8]? {
        guard let start = bytes.firstIndex(of: UInt8(ascii: "{")) else { return nil }
        let outer = JSONParser()
        return bytes[start...].withUnsafeBytes { raw -> [UInt8]? in
            let result = outer.parse(raw) { document -> [UInt8]? in
                if let inner = document.member(0, "oslo.message") {
                    guard document.tape[inner].kind == .string else { return nil }
                    let message = document.unescapedBytes(inner)
                    return message.withUnsafeBytes { raw in
                        (try? JSONParser().parse(raw) { event(of: $0) }.get()) ?? nil
                    }
                }
                return event(of: document)
            }
            return (try? result.get()) ?? nil
        }
    }

    /// The event of an oslo message (its `payload`), or the message itself when it is a bare
    /// CADF event.
    private static func event(of message: JSONDocument) -> [UInt8]? {
        guard message.tape[0].kind == .object else { return nil }
        if let payload = message.member(0, "payload") {
            guard message.tape[payload].kind == .object else { return nil }
            return text(of: payload, in: message)
        }
        guard message.member(0, "eventType") != nil || message.member(0, "typeURI") != nil else { return nil }
        return text(of: 0, in: message)
    }

    private static func text(of index: Int, in document: JSONDocument) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(document.bytes.count)
        _ = write(index, document, into: &out)
        return out
    }

    /// Writes the value at `index`; returns the index past it.
    private static func write(_ index: Int, _ document: JSONDocument, into out: inout [UInt8]) -> Int {
        let entry = document.tape[index]
        switch entry.kind {
        case .object, .array:
            let isObject = entry.kind == .object
            out.append(isObject ? UInt8(ascii: "{") : UInt8(ascii: "["))
            var next = index + 1
            let end = Int(entry.length)
            while next < end {
                if next > index + 1 { out.append(UInt8(ascii: ",")) }
                if isObject {
                    next = write(next, document, into: &out)
                    out.append(UInt8(ascii: ":"))
                }
                next = write(next, document, into: &out)
            }
            out.append(isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"))
            return end
        case .string:
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: document.rawBytes(index))
            out.append(UInt8(ascii: "\""))
        case .number:
            out.append(contentsOf: document.rawBytes(index))
        case .true:
            out.append(contentsOf: "true".utf8)
        case .false:
            out.append(contentsOf: "false".utf8)
        case .null:
            out.append(contentsOf: "null".utf8)
        }
        return index + 1
    }
}
