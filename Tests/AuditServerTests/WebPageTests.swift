// AuditTrail — read server tests
// SPDX-License-Identifier: Apache-2.0

import AuditServer
import AuditTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Testing

/// The web page at `/ui/`: its files and their headers.
@Suite struct WebPageTests {
    /// The three files with their types, a CSP that allows no inline script, and revalidation
    /// by entity tag; `/` leads to the page.
    @Test func thePageIsServedWithItsTypesAStrictPolicyAndRevalidation() async throws {
        let fixture = try CallsAPITests.fixture.get()
        try await fixture.server().application().test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .found)
                #expect(response.headers[.location] == "/ui/")
            }
            let files = [
                ("/ui/", "text/html; charset=utf-8", "<script src=\"/ui/app.js\""),
                ("/ui", "text/html; charset=utf-8", "<link rel=\"stylesheet\" href=\"/ui/app.css\">"),
                ("/ui/app.js", "text/javascript; charset=utf-8", "X-Auth-Token"),
                ("/ui/app.css", "text/css; charset=utf-8", ".outcome-failure"),
            ]
            for (path, type, content) in files {
                let etag = try await client.execute(uri: path, method: .get) { response -> String? in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.headers[.contentType] == type, "\(path)")
                    #expect(response.headers[.cacheControl] == "no-cache")
                    #expect(response.headers[.xContentTypeOptions] == "nosniff")
                    let policy = response.headers[.contentSecurityPolicy] ?? ""
                    #expect(policy.contains("script-src 'self';") && policy.contains("default-src 'none'"))
                    #expect(!policy.contains("unsafe"))
                    #expect(String(buffer: response.body).contains(content), "\(path)")
                    return response.headers[.eTag]
                }
                let tag = try #require(etag)
                try await client.execute(uri: path, method: .get, headers: [.ifNoneMatch: tag]) { response in
                    #expect(response.status == .notModified, "\(path)")
                    #expect(response.body.readableBytes == 0)
                }
                try await client.execute(uri: path, method: .get, headers: [.ifNoneMatch: "\"other\""]) { response in
                    #expect(response.status == .ok, "\(path)")
                }
            }
            // No inline script for the policy to block, and no markup built from data.
            let page = try await client.execute(uri: "/ui/", method: .get) { String(buffer: $0.body) }
            #expect(page.components(separatedBy: "<script").count == page.components(separatedBy: "<script src=").count)
            #expect(!page.contains(/\son[a-z]+=/) && !page.contains("javascript:"))
            let script = try await client.execute(uri: "/ui/app.js", method: .get) { String(buffer: $0.body) }
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
                #expect(!script.contains(sink), "app.js uses \(sink)")
            }
            // The page needs no token; the API still does.
            #expect(try await client.get("/v1/calls", token: nil).status == .unauthorized)
        }
    }
}
