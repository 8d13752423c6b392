// AuditTrail — object store
// SPDX-License-Identifier: Apache-2.0

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reading the XML answers this client needs.
enum S3Responses {
    struct ListPage {
        var objects: [ObjectInfo]
        var isTruncated: Bool
        var nextToken: String?
    }

    private static func parse(_ bytes: [UInt8], root: String) throws -> XMLNode {
        let node: XMLNode
        do {
            node = try XMLNode.parse(bytes)
        } catch {
            throw ObjectStoreError.invalidResponse(key: nil, message: "\(error)")
        }
        guard node.name == root else {
            throw ObjectStoreError.invalidResponse(key: nil, message: "expected <\(root)>, got <\(node.name)>")
        }
        return node
    }

    /// A `ListBucketResult` (ListObjectsV2).
    static func listPage(_ bytes: [UInt8]) throws -> ListPage {
        let root = try parse(bytes, root: "ListBucketResult")
        let objects = try root.elements(named: "Contents").map { contents -> ObjectInfo in
            guard let key = contents.value("Key"), let size = contents.value("Size").flatMap({ Int64($0) }),
                let etag = contents.value("ETag"),
                let modified = contents.value("LastModified").flatMap(S3Dates.parseISO8601)
            else {
                throw ObjectStoreError.invalidResponse(key: nil, message: "listing entry without Key, Size, ETag or LastModified")
            }
            return ObjectInfo(key: key, size: size, etag: etag, lastModified: modified)
        }
        return ListPage(
            objects: objects, isTruncated: root.value("IsTruncated") == "true",
            nextToken: root.value("NextContinuationToken").flatMap { $0.isEmpty ? nil : $0 })
    }

    /// An `<Error>` body's code and message.
    static func error(_ bytes: [UInt8]) throws -> (code: String?, message: String?) {
        let root = try parse(bytes, root: "Error")
        return (root.value("Code"), root.value("Message"))
    }

    /// `InitiateMultipartUploadResult`'s upload id.
    static func uploadID(_ bytes: [UInt8]) throws -> String {
        let root = try parse(bytes, root: "InitiateMultipartUploadResult")
        guard let id = root.value("UploadId"), !id.isEmpty else {
            throw ObjectStoreError.invalidResponse(key: nil, message: "InitiateMultipartUploadResult without UploadId")
        }
        return id
    }

    /// The answer to CompleteMultipartUpload, which S3 may send with status 200 and an
    /// `<Error>` body: the ETag, or that error.
    static func completed(_ bytes: [UInt8], key: String) throws -> String {
        let root: XMLNode
        do {
            root = try XMLNode.parse(bytes)
        } catch {
            throw ObjectStoreError.invalidResponse(key: key, message: "\(error)")
        }
        if root.name == "Error" {
            // S3 documents this as a failure to retry when the code is InternalError; a 500 says so.
            throw ObjectStoreError.http(status: 500, code: root.value("Code"), message: root.value("Message"), key: key)
        }
        guard root.name == "CompleteMultipartUploadResult", let etag = root.value("ETag"), !etag.isEmpty else {
            throw ObjectStoreError.invalidResponse(key: key, message: "CompleteMultipartUpload answered without an ETag")
        }
        return etag
    }

    /// The `CompleteMultipartUpload` request body.
    static func completeBody(_ parts: [(number: Int, etag: String)]) -> [UInt8] {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            xml += "<Part><PartNumber>\(part.number)</PartNumber><ETag>\(XMLNode.escape(part.etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        return Array(xml.utf8)
    }
}

/// The two date forms S3 sends, read without formatters.
enum S3Dates {
    /// `2026-12-06T11:48:17.000Z` (listings).
    static func parseISO8601(_ text: String) -> Date? {
        let digits = Array(text.utf8)
        guard digits.count >= 19, digits[4] == UInt8(ascii: "-"), digits[10] == UInt8(ascii: "T") else { return nil }
        func number(_ range: Range<Int>) -> Int32? { Int32(String(decoding: digits[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        return date(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Sun, 06 Dec 2026 11:48:17 GMT` (`Last-Modified`).
    static func parseHTTPDate(_ text: String) -> Date? {
        let fields = text.split(separator: " ")
        guard fields.count == 6, fields[5] == "GMT", let day = Int32(fields[1]),
            let month = months.firstIndex(of: String(fields[2])), let year = Int32(fields[3])
        else { return nil }
        let time = fields[4].split(separator: ":").compactMap { Int32($0) }
        guard time.count == 3 else { return nil }
        return date(year: year, month: Int32(month + 1), day: day, hour: time[0], minute: time[1], second: time[2])
    }

    private static func date(year: Int32, month: Int32, day: Int32, hour: Int32, minute: Int32, second: Int32) -> Date? {
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
    }
}
