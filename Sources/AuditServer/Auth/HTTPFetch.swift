// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP exchange of the auth backends (Keystone, a JWKS endpoint), over AsyncHTTPClient's
/// shared client: status, headers and a bounded body.
struct HTTPFetch: Sendable {
    /// The methods the backends use.
    enum Method: Sendable {
        case get, post

        var nio: HTTPMethod { self == .get ? .GET : .POST }
    }

    /// A reply.
    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data

        /// The first value of the header `name`.
        func header(_ name: String) -> String? { headers.first(name: name) }
    }

    /// A request that got no reply (connection refused, timeout, a body over the bound).
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// How long one exchange may take.
    var timeout: TimeAmount = .seconds(10)
    /// The largest body read.
    var maxBody = 4 << 20

    func callAsFunction(
        _ method: Method, _ url: String, headers: [(String, String)] = [], body: Data? = nil
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method.nio
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: maxBody)
            return Reply(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
        } catch {
            throw Failure(description: "\(method) \(url): \(error)")
        }
    }
}
