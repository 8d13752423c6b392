// AuditTrail — object store
// SPDX-License-Identifier: Apache-2.0

import Foundation

/// Credentials that sign S3 requests (SigV4).
public struct S3Credentials: Sendable, Hashable {
    /// `AWS_ACCESS_KEY_ID`.
    public var accessKeyID: String
    /// `AWS_SECRET_ACCESS_KEY`.
    public var secretAccessKey: String
    /// `AWS_SESSION_TOKEN`, for temporary credentials; sent as `x-amz-security-token`.
    public var sessionToken: String?

    /// Creates credentials.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// How transient failures are retried: exponential backoff with full jitter.
///
/// Attempt `n` (from 1) that fails transiently waits a random time in
/// `0 ... min(maxDelay, baseDelay * 2^(n-1))` before attempt `n + 1`.
public struct S3RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included (1 = no retry).
    public var maxAttempts: Int
    /// The backoff's first ceiling.
    public var baseDelay: Duration
    /// The backoff's largest ceiling.
    public var maxDelay: Duration

    /// Creates a policy.
    public init(maxAttempts: Int = 6, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(5)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The delay before the attempt after `attempt` (from 1).
    func delay(after attempt: Int) -> Duration {
        let ceiling = min(maxDelay, baseDelay * (1 << min(attempt - 1, 20)))
        let nanoseconds = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        guard nanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...nanoseconds))
    }
}

/// How to reach an S3-compatible store (AWS, MinIO, Ceph RGW, moto).
public struct S3Configuration: Sendable {
    /// The endpoint, e.g. `https://s3.eu-west-1.amazonaws.com` or `http://minio:9000`; a path after
    /// the host is kept in front of every request's path.
    public var endpoint: String
    /// The region requests are signed for (`us-east-1` for MinIO and moto unless set otherwise).
    public var region: String
    /// The signing credentials.
    public var credentials: S3Credentials
    /// Path-style addressing (`endpoint/bucket/key`) rather than virtual-hosted
    /// (`bucket.endpoint/key`). MinIO, Ceph RGW and moto are usually addressed path-style.
    public var pathStyle: Bool
    /// Files larger than this upload in parts (multipart upload); smaller ones in one PUT.
    public var multipartThreshold: Int64
    /// The size of each part but the last. S3 takes 5 MiB at least (raised to that if lower) and
    /// 10,000 parts at most (raised further for a file that needs it).
    public var partSize: Int
    /// Parts of one multipart upload sent at once (memory holds this many parts).
    public var partConcurrency: Int
    /// Objects per ListObjectsV2 page (S3's own maximum is 1,000).
    public var listPageSize: Int
    /// How transient failures are retried.
    public var retry: S3RetryPolicy
    /// Time allowed for one request's connection to be set up.
    public var connectTimeout: Duration
    /// Time allowed without any byte read or written on a request's connection.
    public var ioTimeout: Duration

    /// S3's smallest part but for the last.
    public static let minimumPartSize = 5 * 1024 * 1024

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - endpoint: the store's URL; `nil` means AWS: `https://s3.<region>.amazonaws.com`.
    ///   - pathStyle: `nil` chooses path-style for an explicit endpoint and virtual-hosted for AWS.
    public init(
        endpoint: String? = nil, region: String = "us-east-1", credentials: S3Credentials, pathStyle: Bool? = nil,
        multipartThreshold: Int64 = 16 * 1024 * 1024, partSize: Int = 8 * 1024 * 1024, partConcurrency: Int = 4,
        listPageSize: Int = 1000,
        retry: S3RetryPolicy = S3RetryPolicy(), connectTimeout: Duration = .seconds(10), ioTimeout: Duration = .seconds(60)
    ) {
        var endpoint = endpoint ?? "https://s3.\(region).amazonaws.com"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.pathStyle = pathStyle ?? (endpoint.hasSuffix(".amazonaws.com") ? false : true)
        self.multipartThreshold = multipartThreshold
        self.partSize = partSize
        self.partConcurrency = max(1, partConcurrency)
        self.listPageSize = min(max(1, listPageSize), 1000)
        self.retry = retry
        self.connectTimeout = connectTimeout
        self.ioTimeout = ioTimeout
    }

    /// A configuration from the standard AWS variables: `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (optional) and `AWS_REGION` (else
    /// `AWS_DEFAULT_REGION`, else `us-east-1`).
    ///
    /// - Parameters:
    ///   - endpoint: `--s3-endpoint`, for stores other than AWS; `nil` for AWS.
    ///   - environment: the variables to read (the process's own by default).
    /// - Throws: ``ObjectStoreError/configuration(_:)`` naming the missing variable.
    public static func fromEnvironment(
        endpoint: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> S3Configuration {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        guard let accessKey = value("AWS_ACCESS_KEY_ID") else {
            throw ObjectStoreError.configuration(
                "AWS_ACCESS_KEY_ID is not set: the object store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        guard let secret = value("AWS_SECRET_ACCESS_KEY") else {
            throw ObjectStoreError.configuration(
                "AWS_SECRET_ACCESS_KEY is not set: the object store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        if let endpoint, URLComponents(string: endpoint)?.host == nil {
            throw ObjectStoreError.configuration("--s3-endpoint \"\(endpoint)\" is not a URL like http://host:9000")
        }
        return S3Configuration(
            endpoint: endpoint, region: value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1",
            credentials: S3Credentials(
                accessKeyID: accessKey, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN")))
    }
}
