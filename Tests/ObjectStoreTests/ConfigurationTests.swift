// AuditTrail — ObjectStore tests
// SPDX-License-Identifier: Apache-2.0

import Foundation
import Testing

@testable import ObjectStore

/// `s3://` locations, configuration from the AWS variables, and the XML reader (pure).
@Suite struct ConfigurationTests {
    @Test func locations() throws {
        #expect(try S3Location("s3://audit-trail/trail") == S3Location("s3://audit-trail/trail/"))
        let location = try S3Location("s3://audit-trail/trail")
        #expect(location.bucket == "audit-trail" && location.prefix == "trail/")
        #expect(location.key("t/0/manifest") == "trail/t/0/manifest")
        #expect(try S3Location("s3://b").prefix == "")
        #expect(try S3Location("s3://b/").prefix == "")
        #expect(try S3Location("s3://b/a/b//").prefix == "a/b/")
        #expect(location.description == "s3://audit-trail/trail/")
        #expect(throws: ObjectStoreError.self) { try S3Location("http://b/x") }
        #expect(throws: ObjectStoreError.self) { try S3Location("s3:///x") }
    }

    @Test func fromEnvironment() throws {
        let full = try S3Configuration.fromEnvironment(
            endpoint: "http://minio:9000",
            environment: [
                "AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
                "AWS_DEFAULT_REGION": "eu-west-1",
            ])
        #expect(full.endpoint == "http://minio:9000" && full.pathStyle && full.region == "eu-west-1")
        #expect(full.credentials == S3Credentials(accessKeyID: "id", secretAccessKey: "secret", sessionToken: "token"))

        let aws = try S3Configuration.fromEnvironment(
            endpoint: nil,
            environment: ["AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "eu-central-1"])
        #expect(aws.endpoint == "https://s3.eu-central-1.amazonaws.com" && !aws.pathStyle)
        #expect(aws.credentials.sessionToken == nil)
        let plain = try S3Configuration.fromEnvironment(
            endpoint: nil, environment: ["AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "s"])
        #expect(plain.region == "us-east-1")

        do {
            _ = try S3Configuration.fromEnvironment(endpoint: nil, environment: ["AWS_ACCESS_KEY_ID": "id"])
            Issue.record("missing secret accepted")
        } catch {
            #expect("\(error)".contains("AWS_SECRET_ACCESS_KEY is not set"))
        }
        #expect(throws: ObjectStoreError.self) {
            try S3Configuration.fromEnvironment(endpoint: nil, environment: [:])
        }
        #expect(throws: ObjectStoreError.self) {
            try S3Configuration.fromEnvironment(
                endpoint: "minio 9000", environment: ["AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": "s"])
        }
    }

    @Test func retryDelaysGrowWithinTheirCeiling() {
        let policy = S3RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(100), maxDelay: .milliseconds(300))
        for _ in 0..<100 {
            #expect(policy.delay(after: 1) <= .milliseconds(100))
            #expect(policy.delay(after: 2) <= .milliseconds(200))
            #expect(policy.delay(after: 9) <= .milliseconds(300))
        }
    }

    @Test func listingXML() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>
              <KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>
              <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
              <Contents><Key>p/a&amp;b &lt;1&gt;</Key><LastModified>2026-12-06T11:48:17.000Z</LastModified>
                <ETag>&quot;f97c5d29941bfb1b2fdab0874906ab82&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents>
              <!-- a comment --><Contents><Key><![CDATA[p/<c>]]></Key><LastModified>2026-12-06T11:48:18Z</LastModified>
                <ETag>"x-2"</ETag><Size>10485760</Size><Owner><ID>1</ID></Owner></Contents>
            </ListBucketResult>
            """
        let page = try S3Responses.listPage(Array(xml.utf8))
        #expect(page.isTruncated && page.nextToken == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        #expect(page.objects.map(\.key) == ["p/a&b <1>", "p/<c>"])
        #expect(page.objects.map(\.etag) == ["\"f97c5d29941bfb1b2fdab0874906ab82\"", "\"x-2\""])
        #expect(page.objects.map(\.size) == [3, 10_485_760])
        #expect(page.objects[0].lastModified == Date(timeIntervalSince1970: 1_796_557_697))
        #expect(S3Dates.parseHTTPDate("Sun, 06 Dec 2026 11:48:17 GMT") == page.objects[0].lastModified)

        let error = try S3Responses.error(
            Array("<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-Match</Condition></Error>".utf8))
        #expect(error.code == "PreconditionFailed")
        #expect(try S3Responses.uploadID(Array("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u&#x31;</UploadId></InitiateMultipartUploadResult>".utf8)) == "u1")
        #expect(throws: ObjectStoreError.self) {
            try S3Responses.completed(Array("<Error><Code>InternalError</Code></Error>".utf8), key: "k")
        }
    }

    /// The reader refuses what it does not understand rather than guessing.
    @Test func strictXML() {
        for bad in [
            "<a><b></a>", "<a>", "<a>&bogus;</a>", "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>", "<a></a><b/>", "text",
            "<a x=1></a>",
        ] {
            #expect(throws: (any Error).self, "\(bad)") { try XMLNode.parse(Array(bad.utf8)) }
        }
        #expect(S3Responses.completeBody([(1, "\"e1\""), (2, "\"e2\"")]).count > 0)
        #expect(
            String(decoding: S3Responses.completeBody([(1, "\"e\"")]), as: UTF8.self).contains(
                "<Part><PartNumber>1</PartNumber><ETag>&quot;e&quot;</ETag></Part>"))
    }
}
