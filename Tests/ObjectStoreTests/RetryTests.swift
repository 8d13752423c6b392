// AuditTrail — ObjectStore tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Foundation
import Testing

@testable import ObjectStore

/// Retries against a scripted server that answers PUTs with planned statuses: moto cannot be
/// made to fail on purpose.
@Suite(.timeLimit(.minutes(2))) struct RetryTests {
    /// A PUT answered 500 that still wrote the object, then a 412 on the retry: the write was
    /// the client's own, which the HEAD's ETag (the content's MD5) proves.
    @Test func retriedConditionalPutRecognisesItsOwnWrite() async throws {
        try await withScriptedServer(plan: "500,412") { client in
            let etag = try await client.put("lease", bytes: Array("owner-a".utf8), condition: .absent)
            #expect(etag == "\"\(SigV4Signer.hex(S3Client.md5(Array("owner-a".utf8))))\"")
            #expect(client.requestsSent == 3)  // PUT 500, PUT 412, HEAD
        }
    }

    /// A PUT answered 502 that wrote nothing, then a 412 on the retry: someone else's object.
    @Test func retriedConditionalPutStillFencedByAnotherWrite() async throws {
        try await withScriptedServer(plan: "502,412") { client in
            await #expect(throws: ObjectStoreError.self) {
                try await client.put("lease", bytes: [1], condition: .absent)
            }
            #expect(client.requestsSent == 3)
        }
    }

    @Test func preconditionFailedIsNotRetried() async throws {
        try await withScriptedServer(plan: "412") { client in
            do {
                _ = try await client.put("lease", bytes: [1], condition: .matches("\"old\""))
                Issue.record("a 412 was not thrown")
            } catch ObjectStoreError.preconditionFailed(let key) {
                #expect(key == "lease")
            }
            #expect(client.requestsSent == 1)
        }
    }

    @Test func serverErrorsAreRetried() async throws {
        try await withScriptedServer(plan: "503,500") { client in
            _ = try await client.put("k", bytes: [1], condition: .none)
            #expect(client.requestsSent == 3)
        }
    }

    /// A 409 is retried; one that persists becomes `conflict`.
    @Test func persistentConflictIsThrownAsConflict() async throws {
        try await withScriptedServer(plan: "409,409,409,409") { client in
            do {
                _ = try await client.put("k", bytes: [1], condition: .absent)
                Issue.record("a persistent 409 was not thrown")
            } catch ObjectStoreError.conflict(let key) {
                #expect(key == "k")
            }
            #expect(client.requestsSent == 4)
        }
        try await withScriptedServer(plan: "409") { client in
            _ = try await client.put("k", bytes: [1], condition: .absent)
            #expect(client.requestsSent == 2)
        }
    }

    /// Python's standard library only: PUT answers follow the plan (then 200); 200 and 500 store
    /// the object, other statuses don't; HEAD tells the stored ETag.
    private static let script = """
        import hashlib, http.server, sys
        plan = [int(s) for s in sys.argv[2].split(",") if s]
        objects = {}
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def reply(self, status, etag=None):
                self.send_response(status)
                if etag: self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Sun, 06 Dec 2026 11:48:17 GMT")
                self.send_header("Content-Length", "0")
                self.end_headers()
            def do_PUT(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                etag = '"%s"' % hashlib.md5(body).hexdigest()
                status = plan.pop(0) if plan else 200
                if status in (200, 500): objects[self.path] = etag
                self.reply(status, etag if status == 200 else None)
            def do_HEAD(self):
                etag = objects.get(self.path)
                self.reply(200 if etag else 404, etag)
        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
        """

    private func withScriptedServer(plan: String, _ body: (S3Client) async throws -> Void) async throws {
        let retry = S3RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20))
        try await ScriptedServer.with(script: Self.script, arguments: [plan], retry: retry, body)
    }
}
