// AuditTrail — read server tests
// SPDX-License-Identifier: Apache-2.0

import AuditQuery
import AuditServer
import AuditStore
import AuditTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import Testing

/// The web page at `/ui/`: its files, their headers, and the page at work in a real browser.
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

    /// Headless Chromium drives the page of a running `audit-trail serve` as a person would
    /// (interop/web_page_check.py, over the DevTools protocol): a project's token lists that
    /// project's calls only; outcome, time and id filters narrow the table; the cursor pages
    /// forward and back; a call shows both notifications, their Kafka sources and "verified";
    /// another project's token sees its own calls, a foreign `project_id` is refused with 403, a
    /// cloud admin sees every project and may pick one, and an unknown token brings back the
    /// sign-in form with the 401.
    @Test(
        .enabled(if: WebPageTests.chromium != nil, "Chromium is not installed: `make deps` (APT_PACKAGES) installs Debian's chromium"),
        .timeLimit(.minutes(3)))
    func aBrowserListsFiltersPagesAndOpensTheCallsOfItsProjectOnly() async throws {
        let fixture = try CallsAPITests.fixture.get()
        // A project whose calls take two pages of 25, and another project.
        let byProject = Dictionary(grouping: fixture.calls) { $0.fields?.projectId ?? "" }
        let onePage = fixture.projects.filter { (byProject[$0]?.count ?? 0) <= 50 }
        let project = try #require(onePage.first { (byProject[$0]?.count ?? 0) > 25 })
        let other = try #require(onePage.first { $0 != project })
        let calls = byProject[project] ?? []
        let opened = try #require(calls.first { $0.isPair }).id
        let middle = calls.compactMap(\.eventTime).sorted()[calls.count / 2]
        let since = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(middle / 1_000_000)))

        let tokens = NSTemporaryDirectory() + "audit-web-tokens-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: tokens) }
        let lines = [(project, "web-a"), (other, "web-b")].map {
            "{\"token\": \"\($0.1)\", \"project_id\": \"\($0.0)\", \"roles\": [\"audit_viewer\"]}"
        } + ["{\"token\": \"web-admin\", \"roles\": [\"cloud_audit_viewer\"], \"cloud_admin\": true}"]
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: tokens))
        let server = try ServeProcess(data: fixture.directory, tokens: tokens)
        let base = server.base
        #expect(try await server.waitUntilServing())

        var arguments = [
            Interop.repositoryRoot.appendingPathComponent("interop/web_page_check.py").path,
            "--url", "\(base)/ui/", "--token", "web-a", "--other-token", "web-b", "--bad-token", "no-such-token",
            "--admin-token", "web-admin",
            "--foreign-project", project, "--since", since, "--open-call", opened, "--chromium", try #require(Self.chromium),
        ]
        let requestID = calls.first { $0.id == opened }?.fields?.requestId
        if let requestID { arguments += ["--request-id", requestID] }
        if let directory = ProcessInfo.processInfo.environment["AUDIT_TRAIL_SCREENSHOTS"] {
            arguments += ["--screenshots", directory]
        }
        let run = try await Interop.runAsync(URL(fileURLWithPath: "/usr/bin/env"), ["python3"] + arguments)
        try #require(run.status == 0, "web_page_check.py: \(run.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        func rows(_ step: String) -> [[String: String]] { result[step] as? [[String: String]] ?? [] }
        func ids(_ step: String) -> [String] { rows(step).compactMap { $0["id"] } }

        #expect(result["title"] as? String == "AuditTrail")
        #expect(result["message_after_sign_in"] is NSNull)
        #expect(result["stored_token"] as? Bool == true)
        // The first page (newest first, 50 a page) is the project's calls, and no other's.
        #expect(Set(ids("first_page")) == Set(calls.map(\.id)))
        #expect(rows("first_page").allSatisfy { $0["project"] == project && $0["latency"]?.isEmpty == false })
        // Outcome failure narrows the table to the project's failures.
        let failures = calls.filter { $0.outcome == "failure" }
        #expect(!failures.isEmpty && failures.count < calls.count)
        #expect(Set(ids("failures")) == Set(failures.map(\.id)))
        #expect(rows("failures").allSatisfy { $0["outcome"] == "failure" })
        // Its negation: the others.
        #expect(Set(ids("not_failures")) == Set(calls.map(\.id)).subtracting(failures.map(\.id)))
        // Since the middle call's second: the calls from then on.
        let recent = calls.filter { ($0.eventTime ?? 0) >= middle / 1_000_000 * 1_000_000 }
        #expect(Set(ids("since")) == Set(recent.map(\.id)) && recent.count < calls.count)
        // Two pages of 25, oldest first, and back.
        let oldestFirst = try await Self.ids(base, "limit=50&desc=false", token: "web-a")
        #expect(ids("page_1") == Array(oldestFirst.prefix(25)))
        #expect(ids("page_2") == Array(oldestFirst.dropFirst(25)))
        #expect(ids("page_1_again") == ids("page_1"))
        #expect((result["page_2_info"] as? String)?.hasPrefix("Page 2") == true)
        #expect(ids("id_search") == [opened])
        if let requestID {
            #expect(Set(ids("request_id_search")) == Set(calls.filter { $0.fields?.requestId == requestID }.map(\.id)))
            #expect(ids("request_id_search").contains(opened))
        }
        // The call: both notifications as JSON, their sources, its log verified.
        let detail = result["detail"] as? [String: Any] ?? [:]
        #expect(detail["id"] as? String == opened)
        #expect(detail["listHidden"] as? Bool == true)
        for half in ["request", "response"] {
            let shown = detail[half] as? [String: Any] ?? [:]
            #expect((shown["source"] as? String)?.hasPrefix("Kafka ") == true, "\(half)")
            #expect(Self.cadfId(shown) == opened, "\(half): \(shown)")
        }
        let logs = detail["logs"] as? [String] ?? []
        #expect(!logs.isEmpty && logs.allSatisfy { $0.hasPrefix("verified") })
        #expect(detail["address"] as? String == "#call/\(opened)")
        #expect(result["back_to_list"] as? Bool == true)
        // The call's address opens it in a fresh load.
        #expect(result["linked_call"] as? String == opened)
        // Markup in what the server echoes (a 400 quoting the bad status) is shown as text.
        #expect((result["hostile_message"] as? String)?.contains("<img src=x onerror=") == true)
        #expect(result["hostile_elements"] as? Int == 0 && result["title_after_hostile"] as? String == "AuditTrail")
        #expect(result["token_after_sign_out"] is NSNull)
        // Another project's token: its own calls only; a foreign project_id: 403.
        #expect(Set(ids("other_first_page")) == Set((byProject[other] ?? []).map(\.id)))
        #expect((result["forbidden_message"] as? String)?.hasPrefix("403 Forbidden") == true)
        // A cloud admin: every project's calls; with project_id, that project's only.
        #expect(Set(rows("admin_first_page").compactMap { $0["project"] }).count > 1)
        #expect(Set(ids("admin_picked_project")) == Set(calls.map(\.id)))
        // An unknown token: the 401 said, the token dropped, the sign-in form again.
        #expect((result["bad_token_message"] as? String)?.hasPrefix("401 Unauthorized") == true)
        #expect(result["login_shown_after_401"] as? Bool == true)
        #expect(result["token_after_401"] is NSNull)
        // No script error and no Content-Security-Policy violation.
        #expect((result["log"] as? [String])?.isEmpty == true, "\(result["log"] ?? "")")
        server.process.terminate()
        server.process.waitUntilExit()
    }

    /// Debian's `chromium` on the `PATH`, if installed.
    static let chromium: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin")
        .split(separator: ":").flatMap { ["\($0)/chromium", "\($0)/chromium-browser"] }
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The ids `/v1/calls?query` lists for `token`.
    static func ids(_ base: String, _ query: String, token: String) async throws -> [String] {
        var request = URLRequest(url: URL(string: "\(base)/v1/calls?\(query)")!)
        request.setValue(token, forHTTPHeaderField: "X-Auth-Token")
        let (data, _) = try await URLSession.shared.data(for: request)
        let calls = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["calls"] as? [[String: Any]]
        return (calls ?? []).compactMap { $0["id"] as? String }
    }

    /// The CADF id in a half the page showed: its payload's, or its oslo envelope's message's.
    static func cadfId(_ shown: [String: Any]) -> String? {
        for key in ["json", "decoded"] {
            if let payload = (shown[key] as? [String: Any])?["payload"] as? [String: Any], let id = payload["id"] as? String {
                return id
            }
        }
        return nil
    }
}
