// AuditTrail — object store
// SPDX-License-Identifier: Apache-2.0

import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// AWS Signature Version 4 for S3, in the `Authorization` header form.
///
/// Written here on swift-crypto from AWS's description of the algorithm (canonical request,
/// string to sign, derived key); tested against AWS's published examples.
/// The S3 rules that differ from other services: the canonical URI is the path exactly as
/// sent, encoded once (never normalised, never encoded twice), and every request carries
/// `x-amz-content-sha256`.
package struct SigV4Signer: Sendable {
    /// The credentials that sign.
    package var credentials: S3Credentials
    /// The region in the credential scope.
    package var region: String
    /// The service in the credential scope (`s3`).
    package var service: String

    /// Creates a signer.
    package init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The SHA-256 of an empty payload, hex.
    package static let emptyPayloadHash = hex(SHA256.hash(data: [UInt8]()))

    /// A request's parts as they are signed and sent.
    package struct Request: Sendable {
        /// `GET`, `PUT`, …
        package var method: String
        /// The path as sent, already encoded by ``SigV4Signer/encodePath(_:)``.
        package var path: String
        /// Query parameters, not encoded (a flag such as `uploads` has an empty value).
        package var query: [(String, String)]
        /// Headers to sign, `host`, `x-amz-date` and `x-amz-content-sha256` among them.
        package var headers: [(String, String)]
        /// `x-amz-content-sha256`'s value: the payload's hex SHA-256 or `UNSIGNED-PAYLOAD`.
        package var payloadHash: String

        /// Creates a request.
        package init(
            method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// The canonical query string: names and values encoded, sorted by name then value.
    package static func canonicalQuery(_ query: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { pair in
            (encode(pair.0, slash: true), encode(pair.1, slash: true))
        }
        let sorted = encoded.sorted { left, right in
            left.name == right.name ? left.value < right.value : left.name < right.name
        }
        return sorted.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
    }

    /// Header names lowercased and sorted, values trimmed with inner runs of spaces collapsed,
    /// repeated names joined by commas.
    private static func canonicalHeaders(_ headers: [(String, String)]) -> [(String, String)] {
        var merged: [String: String] = [:]
        for (name, value) in headers {
            let name = name.lowercased()
            let value = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            merged[name] = merged[name].map { "\($0),\(value)" } ?? value
        }
        return merged.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// `host;range;x-amz-date…`: the signed headers' names.
    package static func signedHeaders(_ headers: [(String, String)]) -> String {
        canonicalHeaders(headers).map(\.0).joined(separator: ";")
    }

    /// The canonical request (step 1 of the algorithm).
    package static func canonicalRequest(_ request: Request) -> String {
        let headers = canonicalHeaders(request.headers)
        return [
            request.method,
            request.path,
            canonicalQuery(request.query),
            headers.map { "\($0.0):\($0.1)\n" }.joined(),
            headers.map(\.0).joined(separator: ";"),
            request.payloadHash,
        ].joined(separator: "\n")
    }

    /// `20130524/us-east-1/s3/aws4_request`.
    package func scope(amzDate: String) -> String {
        "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
    }

    /// The string to sign (step 2).
    package func stringToSign(_ request: Request, amzDate: String) -> String {
        let hash = Self.hex(SHA256.hash(data: Array(Self.canonicalRequest(request).utf8)))
        return "AWS4-HMAC-SHA256\n\(amzDate)\n\(scope(amzDate: amzDate))\n\(hash)"
    }

    /// The hex signature (steps 3 and 4: derived key, HMAC of the string to sign).
    package func signature(_ request: Request, amzDate: String) -> String {
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [String(amzDate.prefix(8)), region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let mac = HMAC<SHA256>.authenticationCode(for: Array(stringToSign(request, amzDate: amzDate).utf8), using: key)
        return Self.hex(mac)
    }

    /// The `Authorization` header's value.
    package func authorization(_ request: Request, amzDate: String) -> String {
        "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(amzDate: amzDate)),"
            + "SignedHeaders=\(Self.signedHeaders(request.headers)),Signature=\(signature(request, amzDate: amzDate))"
    }

    /// `20130524T000000Z` for a moment.
    package static func amzDate(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }

    /// An object key as a path: every byte but `A-Za-z0-9-._~` and `/` percent-encoded, once.
    package static func encodePath(_ key: String) -> String { encode(key, slash: false) }

    /// RFC 3986 encoding as SigV4 wants it: unreserved bytes kept, the rest `%XX` in upper case.
    package static func encode(_ text: String, slash: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let digits = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where !slash:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The SHA-256 of some bytes.
    package static func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    /// Lower-case hex of a digest or MAC.
    package static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes { out += [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]] }
        return String(decoding: out, as: UTF8.self)
    }
}
