// AuditTrail — ObjectStore tests
// SPDX-License-Identifier: Apache-2.0

import Foundation
import Testing

@testable import ObjectStore

/// The signer against AWS's published SigV4 examples (pure: no network).
@Suite struct SigV4Tests {
    /// The credentials of the S3 API reference's examples ("Signature Calculations for the
    /// Authorization Header: Examples").
    private let s3Example = SigV4Signer(
        credentials: S3Credentials(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")
    private let amzDate = "20130524T000000Z"

    private func headers(_ extra: [(String, String)], payload: String) -> [(String, String)] {
        [("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", amzDate), ("x-amz-content-sha256", payload)]
            + extra
    }

    /// GET Object with a Range: the canonical request, string to sign and signature AWS prints.
    @Test func getObjectWithRange() {
        let request = SigV4Signer.Request(
            method: "GET", path: "/test.txt", query: [],
            headers: headers([("Range", "bytes=0-9")], payload: SigV4Signer.emptyPayloadHash),
            payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(
            SigV4Signer.canonicalRequest(request)
                == """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """)
        #expect(
            s3Example.stringToSign(request, amzDate: amzDate)
                == """
                AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972
                """)
        #expect(
            s3Example.authorization(request, amzDate: amzDate)
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    /// PUT Object of "Welcome to Amazon S3." to `test$file.text`: the key's `$` is encoded once,
    /// the payload is signed by its SHA-256, `Date` and the storage class are signed too.
    @Test func putObject() {
        let payload = SigV4Signer.hex(SHA256Hex.of("Welcome to Amazon S3."))
        #expect(payload == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let request = SigV4Signer.Request(
            method: "PUT", path: SigV4Signer.encodePath("/test$file.text"), query: [],
            headers: headers(
                [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                payload: payload),
            payloadHash: payload)
        #expect(request.path == "/test%24file.text")
        #expect(
            s3Example.signature(request, amzDate: amzDate)
                == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    }

    /// GET Bucket lifecycle: a query flag without a value signs as `lifecycle=`.
    @Test func getBucketLifecycle() {
        let request = SigV4Signer.Request(
            method: "GET", path: "/", query: [("lifecycle", "")],
            headers: headers([], payload: SigV4Signer.emptyPayloadHash), payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(SigV4Signer.canonicalRequest(request).split(separator: "\n", omittingEmptySubsequences: false)[2] == "lifecycle=")
        #expect(
            s3Example.signature(request, amzDate: amzDate)
                == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    }

    /// GET Bucket (list objects) with `max-keys=2&prefix=J`, given out of order.
    @Test func listObjects() {
        let request = SigV4Signer.Request(
            method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")],
            headers: headers([], payload: SigV4Signer.emptyPayloadHash), payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(SigV4Signer.canonicalQuery(request.query) == "max-keys=2&prefix=J")
        #expect(
            s3Example.signature(request, amzDate: amzDate)
                == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    /// aws-sig-v4-test-suite `get-vanilla-query-order-key-case`: query parameters sort by name.
    @Test func testSuiteQueryOrder() {
        let signer = SigV4Signer(
            credentials: S3Credentials(
                accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "service")
        let request = SigV4Signer.Request(
            method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")],
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
            payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(
            signer.signature(request, amzDate: "20150830T123600Z")
                == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    /// Keys encode once: reserved and non-ASCII bytes become `%XX`, `/` stays in paths only.
    @Test func encoding() {
        #expect(SigV4Signer.encodePath("trail/t 0/a+b=c~d_e.f-g") == "trail/t%200/a%2Bb%3Dc~d_e.f-g")
        #expect(SigV4Signer.encodePath("é%") == "%C3%A9%25")
        #expect(SigV4Signer.encode("a/b", slash: true) == "a%2Fb")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_369_353_600)) == "20130524T000000Z")
    }
}

/// SHA-256 of a string, for the payload hashes above.
private enum SHA256Hex {
    static func of(_ text: String) -> [UInt8] { SigV4Signer.sha256(Array(text.utf8)) }
}
