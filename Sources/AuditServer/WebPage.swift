// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// The web page: a browser front end to `/v1/calls`, served by the same process from the
/// module's resources (`Resources/web`).
///
/// Three static files (`index.html`, `app.js`, `app.css`) at `/ui/`; `/` redirects there. The page holds no data and needs no token to load: it asks for one and sends it
/// with every `/v1` fetch, so it sees exactly what the API lets the token see.
///
/// Every file is sent with a strict Content-Security-Policy (scripts, styles and fetches from
/// this origin only: no inline script, no `eval`), `nosniff`, no framing and no referrer, and
/// with an `ETag` and `Cache-Control: no-cache`: a browser keeps its copy and revalidates it,
/// so an upgraded server's page is picked up at once at the cost of one 304.
struct WebPage: Sendable {
    /// A file of the page: its bytes, type and entity tag.
    struct File: Sendable {
        var bytes: [UInt8]
        var contentType: String
        var etag: String
    }

    /// The files by name.
    let files: [String: File]

    static let names = ["index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"]

    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// The page from the module's resources.
    init() {
        var files: [String: File] = [:]
        for (name, type) in Self.names {
            let parts = name.split(separator: ".")
            guard
                let url = Bundle.module.url(
                    forResource: String(parts[0]), withExtension: String(parts[1]), subdirectory: "web"),
                let data = try? Data(contentsOf: url)
            else { continue }
            files[name] = File(bytes: Array(data), contentType: type, etag: Self.etag(of: Array(data)))
        }
        self.files = files
    }

    /// Adds the page's routes to `router`.
    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in Self.redirect() }
        // The router treats `/ui` and `/ui/` as one path; the page names its files absolutely.
        router.get("/ui/") { request, _ in try self.response("index.html", request) }
        for name in Self.names.keys {
            router.get("/ui/\(name)") { request, _ in try self.response(name, request) }
        }
    }

    private static func redirect() -> Response {
        Response(status: .found, headers: [.location: "/ui/", .cacheControl: "no-cache"])
    }

    private func response(_ name: String, _ request: Request) throws -> Response {
        guard let file = files[name] else { throw HTTPError(.internalServerError, message: "the page's \(name) is missing") }
        var headers: HTTPFields = [
            .contentType: file.contentType,
            .eTag: file.etag,
            .cacheControl: "no-cache",
            .contentSecurityPolicy: Self.contentSecurityPolicy,
            .xContentTypeOptions: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
            HTTPField.Name("X-Frame-Options")!: "DENY",
        ]
        if let tags = request.headers[.ifNoneMatch],
            tags.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == file.etag })
        {
            headers[.contentType] = nil
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }

    /// A strong entity tag: 64-bit FNV-1a of the bytes and their length (the files change only
    /// with the server's build, so a collision would need two builds to collide).
    static func etag(of bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return "\"\(String(hash, radix: 16))-\(String(bytes.count, radix: 16))\""
    }
}
