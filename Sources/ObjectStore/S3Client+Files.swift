// AuditTrail — object store
// SPDX-License-Identifier: Apache-2.0

import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

extension S3Client {
    /// Uploads a file: one PUT up to ``S3Configuration/multipartThreshold``, a multipart upload
    /// above it with ``S3Configuration/partConcurrency`` parts in flight (each read from the file
    /// just before it is sent, so memory holds that many parts), each signed by its own SHA-256.
    ///
    /// The condition goes on the single PUT, or on CompleteMultipartUpload: the object appears,
    /// or is refused, at that one step. A failed multipart upload is aborted so its parts don't
    /// linger (and cost) in the bucket.
    public func upload(_ key: String, file path: String, condition: WriteCondition) async throws -> String {
        let (file, size) = try await LocalFile.openForReading(path)
        defer { file.close() }
        guard size > configuration.multipartThreshold else {
            return try await put(key, bytes: try await file.read(at: 0, count: Int(size)), condition: condition)
        }
        // At most 10,000 parts, each at least 5 MiB but the last.
        let partSize = Int64(max(configuration.partSize, S3Configuration.minimumPartSize, Int((size + 9_999) / 10_000)))
        let uploadID = try await createMultipartUpload(key)
        do {
            let count = Int((size + partSize - 1) / partSize)
            var parts = [(number: Int, etag: String)](repeating: (0, ""), count: count)
            var digests = [[UInt8]](repeating: [], count: count)
            // Up to `partConcurrency` parts in flight, each read just before it is sent.
            try await withThrowingTaskGroup(of: (Int, String, [UInt8]).self) { group in
                var next = 0
                var done = 0
                while done < count {
                    while next < count && next - done < configuration.partConcurrency {
                        let index = next
                        group.addTask {
                            let offset = Int64(index) * partSize
                            let bytes = try await file.read(at: offset, count: Int(min(partSize, size - offset)))
                            let etag = try await self.uploadPart(key, uploadID: uploadID, number: index + 1, bytes: bytes)
                            return (index, etag, Self.md5(bytes))
                        }
                        next += 1
                    }
                    guard let (index, etag, digest) = try await group.next() else { break }
                    parts[index] = (index + 1, etag)
                    digests[index] = digest
                    done += 1
                }
            }
            // A multipart object's ETag: the MD5 of the parts' MD5s, then "-" and the part count.
            let expected = "\"\(SigV4Signer.hex(Self.md5(digests.flatMap { $0 })))-\(parts.count)\""
            return try await completeMultipartUpload(
                key, uploadID: uploadID, parts: parts, condition: condition, expectedETag: expected)
        } catch {
            try? await abortMultipartUpload(key, uploadID: uploadID)
            throw error
        }
    }

    /// Starts a multipart upload and returns its id.
    func createMultipartUpload(_ key: String) async throws -> String {
        try await retrying(key: key) { _ in
            let response = try await self.send("POST", key: key, query: [("uploads", "")], body: [])
            guard response.status.code == 200 else { throw await self.failure(response, key: key) }
            return try S3Responses.uploadID(try await self.collect(response, key: key))
        }
    }

    /// Uploads one part and returns its ETag.
    func uploadPart(_ key: String, uploadID: String, number: Int, bytes: [UInt8]) async throws -> String {
        try await retrying(key: key) { _ in
            let query = [("partNumber", "\(number)"), ("uploadId", uploadID)]
            let response = try await self.send("PUT", key: key, query: query, body: bytes)
            guard response.status.code == 200 else { throw await self.failure(response, key: key) }
            _ = try? await self.collect(response, key: key)
            return try self.etag(response, key: key)
        }
    }

    /// Completes a multipart upload under `condition`.
    ///
    /// A retried completion may find the upload already completed by an attempt whose answer was
    /// lost: S3 then answers 404 NoSuchUpload, or 412 when a condition no longer holds against
    /// the object that attempt wrote. Either is checked by a HEAD: an object with the ETag our
    /// parts give is our own upload.
    func completeMultipartUpload(
        _ key: String, uploadID: String, parts: [(number: Int, etag: String)], condition: WriteCondition,
        expectedETag: String
    ) async throws -> String {
        let body = S3Responses.completeBody(parts)
        return try await retrying(key: key) { attempt in
            do {
                let response = try await self.send(
                    "POST", key: key, query: [("uploadId", uploadID)], headers: condition.headers, body: body)
                guard response.status.code == 200 else { throw await self.failure(response, key: key) }
                return try S3Responses.completed(try await self.collect(response, key: key), key: key)
            } catch let error as ObjectStoreError where attempt > 1 {
                switch error {
                case .preconditionFailed, .http(404, "NoSuchUpload", _, _):
                    if let info = try await self.head(key), info.etag == expectedETag { return info.etag }
                default:
                    break
                }
                throw error
            }
        }
    }

    /// Aborts a multipart upload, dropping its parts.
    func abortMultipartUpload(_ key: String, uploadID: String) async throws {
        try await retrying(key: key) { _ in
            let response = try await self.send("DELETE", key: key, query: [("uploadId", uploadID)])
            _ = try? await self.collect(response, key: key)
            guard [200, 204, 404].contains(response.status.code) else { throw await self.failure(response, key: key) }
        }
    }

    public func download(_ key: String, to path: String) async throws -> Bool {
        try await retrying(key: key) { _ in
            let response = try await self.send("GET", key: key)
            if response.status.code == 404 {
                let error = await self.failure(response, key: key)
                if case .http(_, "NoSuchBucket", _, _) = error { throw error }
                return false
            }
            guard response.status.code == 200 else { throw await self.failure(response, key: key) }
            let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
            let temporary = "\(path[..<slash]).\(path[slash...]).download-\(UInt64.random(in: 0...UInt64.max))"
            let file = try await LocalFile.create(temporary)
            do {
                var pending: [UInt8] = []
                do {
                    for try await chunk in response.body {
                        pending += chunk.readableBytesView
                        if pending.count >= 1 << 20 {
                            try await file.write(pending)
                            pending.removeAll(keepingCapacity: true)
                        }
                    }
                } catch let error as ObjectStoreError {
                    throw error
                } catch let error as CancellationError {
                    throw error
                } catch {
                    // The connection broke mid-body: transient, the download starts over.
                    throw ObjectStoreError.transport(key: key, cause: error)
                }
                try await file.write(pending)
                try await file.sync()
                file.close()
                try await LocalFile.rename(temporary, over: path)
                return true
            } catch {
                file.close()
                await LocalFile.remove(temporary)
                throw error
            }
        }
    }
}
