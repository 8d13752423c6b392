// AuditTrail — ObjectStore tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Foundation
import Testing

@testable import ObjectStore

/// The client's real requests, signed as they go out, are checked by a server that recomputes
/// each signature with botocore (AWS's own Python SDK, in the interop venv with moto) from
/// what it received. moto checks no signature, so this is what catches a signing mistake on
/// the wire (encoding of keys and queries, the headers signed), and what gives a wrong secret
/// the error S3 would give.
@Suite(.timeLimit(.minutes(3))) struct SignatureCheckTests {
    /// Answers 403 SignatureDoesNotMatch unless botocore computes the same signature with the
    /// secret it was given; otherwise a minimal answer per request kind.
    private static let script = """
        import http.server, sys
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        port, key_id, secret = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def reply(self, status, body=b"", etag=None):
                self.send_response(status)
                if etag: self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Sun, 06 Dec 2026 11:48:17 GMT")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD": self.wfile.write(body)
            def handle_any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fields = dict(p.strip().split("=", 1)
                              for p in self.headers.get("Authorization", "")[len("AWS4-HMAC-SHA256 "):].split(","))
                names = fields["SignedHeaders"].split(";")
                request = AWSRequest(method=self.command, url="http://%s%s" % (self.headers["Host"], self.path),
                                     headers={n: self.headers[n] for n in names}, data=body)
                request.context["timestamp"] = self.headers["x-amz-date"]
                signer = S3SigV4Auth(Credentials(key_id, secret, self.headers.get("x-amz-security-token")),
                                     "s3", "us-east-1")
                expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
                if fields.get("Signature") != expected or not fields["Credential"].startswith(key_id + "/"):
                    return self.reply(403, b"<Error><Code>SignatureDoesNotMatch</Code><Message>The request "
                                      b"signature we calculated does not match the signature you provided."
                                      b"</Message></Error>")
                if self.command == "POST" and "?uploads" in self.path:
                    return self.reply(200, b"<InitiateMultipartUploadResult><UploadId>u1</UploadId>"
                                      b"</InitiateMultipartUploadResult>")
                if self.command == "GET" and "list-type=2" in self.path:
                    return self.reply(200, b"<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>")
                if self.command == "DELETE":
                    return self.reply(204)
                return self.reply(200, b"signed" if self.command == "GET" else b"", '"e"')
            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any
        http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """

    private let credentials = S3Credentials(
        accessKeyID: "AKIDSIGNCHECK", secretAccessKey: "s3cr3t/with+odd=chars", sessionToken: "token/+=")

    private func withCheckingServer(
        client credentials: S3Credentials, _ body: (S3Client) async throws -> Void
    ) async throws {
        try await ScriptedServer.with(
            script: Self.script, arguments: [self.credentials.accessKeyID, self.credentials.secretAccessKey],
            python: try Interop.python(), credentials: credentials, retry: S3RetryPolicy(maxAttempts: 2), body)
    }

    /// Every kind of request the client sends, with keys and queries that need encoding.
    @Test func signaturesMatchBotocore() async throws {
        try await withCheckingServer(client: credentials) { client in
            let key = "trail/t 0/a+b=c~d_e.f-g$&'é!(*).seg"
            _ = try await client.put(key, bytes: Array("payload".utf8), condition: .absent)
            _ = try await client.put(key, bytes: [], condition: .matches("\"e\""))
            #expect(try await client.get(key)?.bytes == Array("signed".utf8))
            #expect(try await client.get(key, range: 0..<3) != nil)
            #expect(try await client.head(key) != nil)
            #expect(try await client.list(prefix: "trail/t 0/a+b").isEmpty)
            try await client.delete(key)
            #expect(try await client.createMultipartUpload(key) == "u1")
            _ = try await client.uploadPart(key, uploadID: "u/1+2", number: 1, bytes: [1, 2, 3])
            try await client.abortMultipartUpload(key, uploadID: "u/1+2")
        }
    }

    /// A wrong secret: S3's 403 SignatureDoesNotMatch, named in the error, not retried.
    @Test func wrongSecretIsAClearError() async throws {
        var wrong = credentials
        wrong.secretAccessKey = "not-the-secret"
        try await withCheckingServer(client: wrong) { client in
            do {
                _ = try await client.put("k", bytes: [1], condition: .none)
                Issue.record("a request with a wrong secret was accepted")
            } catch let error as ObjectStoreError {
                guard case .http(403, "SignatureDoesNotMatch", _, "k") = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect("\(error)".contains("HTTP 403 SignatureDoesNotMatch on k: The request signature we calculated"))
            }
            #expect(client.requestsSent == 1)
        }
    }
}
