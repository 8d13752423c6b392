// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// JSON bodies of the read server.
enum JSON {
    /// A JSON value (dictionaries, arrays, strings, numbers) as text with sorted keys.
    static func text(_ value: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// A JSON string literal.
    static func quote(_ text: String) -> String { CallFormat.quote(text) }

    /// A response with a JSON body.
    static func response(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
