// AuditTrail — object store
// SPDX-License-Identifier: Apache-2.0

import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// An S3 client bound to one bucket: AsyncHTTPClient with SigV4 signing (``SigV4Signer``).
///
/// Every operation retries transient failures (5xx, 429, 409, transport errors) with
/// exponential backoff and full jitter (``S3RetryPolicy``); a 412 is never retried.
///
/// - Important: call ``shutdown()`` once done (or use ``withS3Client(bucket:configuration:_:)``):
///   the client owns an `HTTPClient` whose connections must be closed, and which traps in debug
///   builds when it is released while still running.
public final class S3Client: ObjectStore {
    /// The bucket every key lives in.
    public let bucket: String
    /// The configuration the client was made with.
    public let configuration: S3Configuration
    let signer: SigV4Signer
    let http: HTTPClient
    /// `scheme://host[:port]`, and any path the endpoint has.
    private let origin: String
    private let basePath: String
    private let hostHeader: String
    private let counter = Atomic<Int>(0)

    /// HTTP requests sent so far, every attempt counted (tests assert on retries with it).
    public var requestsSent: Int { counter.load(ordering: .relaxed) }

    /// Creates a client for one bucket.
    ///
    /// - Throws: ``ObjectStoreError/configuration(_:)`` when the endpoint is not an http(s) URL.
    public init(bucket: String, configuration: S3Configuration) throws {
        guard let url = URLComponents(string: configuration.endpoint), let host = url.host, !host.isEmpty,
            let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https"
        else {
            throw ObjectStoreError.configuration("endpoint \"\(configuration.endpoint)\" is not an http(s) URL")
        }
        let hostName = configuration.pathStyle ? host : "\(bucket).\(host)"
        let defaultPort = scheme == "https" ? 443 : 80
        let hostPort = url.port.map { $0 == defaultPort ? hostName : "\(hostName):\($0)" } ?? hostName
        self.bucket = bucket
        self.configuration = configuration
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
        self.origin = "\(scheme)://\(hostPort)"
        self.hostHeader = hostPort
        var basePath = url.percentEncodedPath
        while basePath.hasSuffix("/") { basePath.removeLast() }
        self.basePath = basePath
        var client = HTTPClient.Configuration()
        client.timeout = HTTPClient.Configuration.Timeout(
            connect: .nanoseconds(Int64(configuration.connectTimeout.nanoseconds)),
            read: .nanoseconds(Int64(configuration.ioTimeout.nanoseconds)),
            write: .nanoseconds(Int64(configuration.ioTimeout.nanoseconds)))
        client.redirectConfiguration = .disallow
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: client)
    }

    /// Creates a client for a location's bucket (keys still carry the prefix:
    /// ``S3Location/key(_:)``).
    public convenience init(location: S3Location, configuration: S3Configuration) throws {
        try self.init(bucket: location.bucket, configuration: configuration)
    }

    /// Closes the client's connections. Call once, after the last request.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    // MARK: - Operations

    public func put(_ key: String, bytes: [UInt8], condition: WriteCondition) async throws -> String {
        try await retrying(key: key) { attempt in
            do {
                let response = try await self.send("PUT", key: key, headers: condition.headers, body: bytes)
                guard response.status.code == 200 else { throw await self.failure(response, key: key) }
                return try self.etag(response, key: key)
            } catch ObjectStoreError.preconditionFailed(let key) where attempt > 1 {
                // An earlier attempt failed without an answer or with a 5xx: it may have written the
                // object, and this 412 be its own echo. The object then holds our bytes, whose ETag
                // (a single PUT's is the content's MD5) we know.
                let expected = "\"\(SigV4Signer.hex(Self.md5(bytes)))\""
                if let info = try await self.head(key), info.etag == expected { return info.etag }
                throw ObjectStoreError.preconditionFailed(key: key)
            }
        }
    }

    public func get(_ key: String) async throws -> StoredObject? {
        try await retrying(key: key) { _ in
            let response = try await self.send("GET", key: key)
            if response.status.code == 404 { return try await self.notFound(response, key: key) }
            guard response.status.code == 200 else { throw await self.failure(response, key: key) }
            let etag = try self.etag(response, key: key)
            return StoredObject(bytes: try await self.collect(response, key: key), etag: etag)
        }
    }

    public func get(_ key: String, range: Range<Int64>) async throws -> [UInt8]? {
        guard !range.isEmpty else { return try await head(key) == nil ? nil : [] }
        return try await retrying(key: key) { _ in
            let header = ("range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)")
            let response = try await self.send("GET", key: key, headers: [header])
            switch response.status.code {
            case 206:
                return try await self.collect(response, key: key)
            case 200:
                // A store that ignored the range sent the whole object.
                let bytes = try await self.collect(response, key: key)
                let lower = Int(min(range.lowerBound, Int64(bytes.count)))
                let upper = Int(min(range.upperBound, Int64(bytes.count)))
                return Array(bytes[lower..<upper])
            case 416:
                // The range starts at or past the object's end.
                _ = try? await self.collect(response, key: key)
                return []
            case 404:
                return try await self.notFound(response, key: key)
            default:
                throw await self.failure(response, key: key)
            }
        }
    }

    public func head(_ key: String) async throws -> ObjectInfo? {
        try await retrying(key: key) { _ in
            let response = try await self.send("HEAD", key: key)
            if response.status.code == 404 { return nil }
            guard response.status.code == 200 else { throw await self.failure(response, key: key) }
            guard let size = response.headers.first(name: "content-length").flatMap({ Int64($0) }) else {
                throw ObjectStoreError.invalidResponse(key: key, message: "HEAD without Content-Length")
            }
            guard let modified = response.headers.first(name: "last-modified").flatMap(S3Dates.parseHTTPDate) else {
                throw ObjectStoreError.invalidResponse(key: key, message: "HEAD without a readable Last-Modified")
            }
            return ObjectInfo(key: key, size: size, etag: try self.etag(response, key: key), lastModified: modified)
        }
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        var objects: [ObjectInfo] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix), ("max-keys", "\(configuration.listPageSize)")]
            if let token { query.append(("continuation-token", token)) }
            let pageQuery = query
            let page = try await retrying(key: nil) { _ in
                let response = try await self.send("GET", key: nil, query: pageQuery)
                guard response.status.code == 200 else { throw await self.failure(response, key: nil) }
                return try S3Responses.listPage(try await self.collect(response, key: nil))
            }
            objects += page.objects
            token = page.isTruncated ? page.nextToken : nil
            if page.isTruncated && token == nil {
                throw ObjectStoreError.invalidResponse(key: nil, message: "truncated listing without a continuation token")
            }
        } while token != nil
        // S3 lists in UTF-8 byte order; sorting keeps that promise for stores that might not.
        objects.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return objects
    }

    public func delete(_ key: String) async throws {
        try await retrying(key: key) { _ in
            let response = try await self.send("DELETE", key: key)
            _ = try? await self.collect(response, key: key)
            guard [200, 204, 404].contains(response.status.code) else { throw await self.failure(response, key: key) }
        }
    }

    /// Creates the bucket (in `us-east-1`, or wherever the endpoint puts it); an existing bucket
    /// owned by these credentials is fine. For tests and first-time setup.
    public func createBucket() async throws {
        try await retrying(key: nil) { _ in
            let response = try await self.send("PUT", key: nil, body: [])
            if response.status.code == 200 { return }
            let error = await self.failure(response, key: nil)
            if case .http(409, "BucketAlreadyOwnedByYou", _, _) = error { return }
            throw error
        }
    }

    // MARK: - Requests

    /// Sends one signed request (no retry).
    ///
    /// - Parameters:
    ///   - key: the object's key, or `nil` for the bucket itself.
    ///   - query: parameters, not yet encoded.
    ///   - body: the payload, signed by its SHA-256 (so the store rejects a payload changed in
    ///     transit, even over plain HTTP to MinIO); `nil` sends none.
    func send(
        _ method: String, key: String?, query: [(String, String)] = [], headers extra: [(String, String)] = [],
        body: [UInt8]? = nil
    ) async throws -> HTTPClientResponse {
        var path = basePath
        if configuration.pathStyle { path += "/" + SigV4Signer.encode(bucket, slash: true) }
        if let key { path += "/" + SigV4Signer.encodePath(key) }
        if path.isEmpty { path = "/" }
        let payloadHash = body.map { SigV4Signer.hex(SHA256.hash(data: $0)) } ?? SigV4Signer.emptyPayloadHash
        let amzDate = SigV4Signer.amzDate(Date())
        var headers = [("host", hostHeader), ("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash)] + extra
        if let token = configuration.credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
        let signed = SigV4Signer.Request(
            method: method, path: path, query: query, headers: headers, payloadHash: payloadHash)
        let queryString = SigV4Signer.canonicalQuery(query)
        var request = HTTPClientRequest(url: origin + path + (queryString.isEmpty ? "" : "?" + queryString))
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.add(name: "authorization", value: signer.authorization(signed, amzDate: amzDate))
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        counter.add(1, ordering: .relaxed)
        do {
            return try await http.execute(request, timeout: .hours(1))
        } catch let error as CancellationError {
            throw error
        } catch {
            throw ObjectStoreError.transport(key: key, cause: error)
        }
    }

    /// Runs `operation` until it succeeds, fails for good, or the attempts run out.
    ///
    /// Retried: transport errors, 5xx, 429, 409 and S3's retryable error codes. A 409 that
    /// persists becomes ``ObjectStoreError/conflict(key:)``. Everything else, a 412 first of all,
    /// is thrown at once. `operation` gets the attempt's number, from 1.
    func retrying<T: Sendable>(
        key: String?, _ operation: @Sendable (_ attempt: Int) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await operation(attempt)
            } catch let error as ObjectStoreError {
                guard Self.isTransient(error) else { throw error }
                guard attempt < configuration.retry.maxAttempts else {
                    if case .http(409, _, _, let failedKey) = error, let failedKey {
                        throw ObjectStoreError.conflict(key: failedKey)
                    }
                    throw error
                }
            }
            try await Task.sleep(for: configuration.retry.delay(after: attempt))
            attempt += 1
        }
    }

    private static let retryableCodes: Set<String> = [
        "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "OperationAborted",
        "ConditionalRequestConflict",
    ]

    static func isTransient(_ error: ObjectStoreError) -> Bool {
        switch error {
        case .transport: return true
        case .http(let status, let code, _, _):
            return status >= 500 || status == 429 || status == 409 || code.map(retryableCodes.contains) == true
        default: return false
        }
    }

    /// The error for a response that is not what the operation expects; reads its body.
    func failure(_ response: HTTPClientResponse, key: String?) async -> ObjectStoreError {
        let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array(buffer: $0) } ?? []
        if response.status.code == 412, let key { return .preconditionFailed(key: key) }
        let error = try? S3Responses.error(body)
        return .http(status: Int(response.status.code), code: error?.code, message: error?.message, key: key)
    }

    /// `nil` for a missing key; an error for a missing bucket (also a 404).
    private func notFound<T>(_ response: HTTPClientResponse, key: String) async throws -> T? {
        let error = await failure(response, key: key)
        if case .http(_, "NoSuchBucket", _, _) = error { throw error }
        return nil
    }

    func collect(_ response: HTTPClientResponse, key: String?) async throws -> [UInt8] {
        do {
            return Array(buffer: try await response.body.collect(upTo: .max))
        } catch let error as CancellationError {
            throw error
        } catch {
            throw ObjectStoreError.transport(key: key, cause: error)
        }
    }

    /// The MD5 of some bytes: a single PUT's ETag, and a part's contribution to a multipart one.
    package static func md5(_ bytes: [UInt8]) -> [UInt8] { Array(Insecure.MD5.hash(data: bytes)) }

    func etag(_ response: HTTPClientResponse, key: String) throws -> String {
        guard let etag = response.headers.first(name: "etag"), !etag.isEmpty else {
            throw ObjectStoreError.invalidResponse(key: key, message: "no ETag in the answer")
        }
        return etag
    }
}

/// Runs `body` with a client for one bucket and shuts the client down after it, also when it throws.
public func withS3Client<T>(
    bucket: String, configuration: S3Configuration, _ body: (S3Client) async throws -> T
) async throws -> T {
    let client = try S3Client(bucket: bucket, configuration: configuration)
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

extension WriteCondition {
    /// The request headers that carry the condition.
    var headers: [(String, String)] {
        switch self {
        case .none: return []
        case .absent: return [("if-none-match", "*")]
        case .matches(let etag): return [("if-match", etag)]
        }
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
