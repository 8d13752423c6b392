// AuditTrail — Hummingbird middleware
// SPDX-License-Identifier: Apache-2.0

public import AuditClient
import HTTPTypes
public import Hummingbird
import NIOCore

/// Audits every HTTP call of a Hummingbird 2 application as keystonemiddleware's audit
/// middleware audits an OpenStack service: an `audit.http.request` notification before the
/// handler runs and an `audit.http.response` after it.
///
/// The response's outcome is `success` for statuses 200–399 and `failure` otherwise, with the
/// status as the HTTP reason. An error that carries an HTTP status (`HTTPResponseError`) becomes
/// that response, as a WebOb HTTP exception does in keystonemiddleware; any other error thrown
/// by the handler gives `unknown` with no reason, and is rethrown.
///
/// Publishing never holds a request longer than the publisher's enqueue budget
/// (``AuditPublisher/Configuration/enqueueBudget``): delivery is confirmed asynchronously.
public struct AuditMiddleware<Context: RequestContext>: RouterMiddleware {
    public let publisher: AuditPublisher
    public let builder: AuditEventBuilder
    /// Methods not audited (keystonemiddleware's `ignore_req_list`), upper-case.
    public let ignoredMethods: Set<String>
    /// Paths not audited (keystonemiddleware's `ignore_path_list`).
    public let ignoredPaths: Set<String>
    private let describe: @Sendable (Request, Context) -> (caller: CallerIdentity, clientAddress: String?)

    /// Creates the middleware.
    ///
    /// - Parameters:
    ///   - publisher: where notifications go.
    ///   - auditMap: the service's audit map (`api_audit_map.conf`).
    ///   - service: the audited service, as its catalog entry would name it.
    ///   - ignoredMethods: methods not to audit, e.g. `["GET", "HEAD"]`.
    ///   - ignoredPaths: exact paths not to audit, e.g. `["/healthcheck"]`.
    ///   - describe: who is calling and from where; by default keystone's auth headers
    ///     (`X-User-Id`, `X-User-Name`, `X-Project-Id`, `X-Auth-Token`, `X-Identity-Status`) and
    ///     the first `X-Forwarded-For` address.
    public init(
        publisher: AuditPublisher, auditMap: AuditMap, service: ServiceInfo?, ignoredMethods: [String] = [],
        ignoredPaths: [String] = [],
        describe: @escaping @Sendable (Request, Context) -> (caller: CallerIdentity, clientAddress: String?) = keystoneHeaders
    ) {
        self.publisher = publisher
        self.builder = AuditEventBuilder(auditMap: auditMap, service: service)
        self.ignoredMethods = Set(ignoredMethods.map { $0.uppercased().trimmingSpaces() })
        self.ignoredPaths = Set(ignoredPaths.filter { !$0.isEmpty })
        self.describe = describe
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let method = request.method.rawValue
        let path = request.uri.path
        if ignoredMethods.contains(method) || ignoredPaths.contains(path) {
            return try await next(request, context)
        }
        var request = request
        var bodyFirstKey: String?
        if method == "POST" && (path.hasSuffix("/action") || path.hasSuffix("/action/")) {
            // keystonemiddleware names `POST …/action` calls after the body's first key.
            if let body = try? await request.collectBody(upTo: 1 << 20) {
                bodyFirstKey = firstObjectKey(body.readableBytesView)
            }
        }
        let (caller, clientAddress) = describe(request, context)
        let query = request.uri.query
        let audited = AuditedRequest(
            method: method, path: path, query: (query?.isEmpty ?? true) ? nil : query, clientAddress: clientAddress,
            userAgent: request.headers[.userAgent], caller: caller,
            requestID: request.headers[requestIDHeader], globalRequestID: request.headers[globalRequestIDHeader],
            bodyFirstKey: bodyFirstKey)
        let event = builder.requestEvent(for: audited, time: currentMicroseconds())
        await publisher.publish(event, eventType: .request)
        let status: Int?
        let response: Response
        do {
            response = try await next(request, context)
            status = Int(response.status.code)
        } catch let error as any HTTPResponseError {
            await publisher.publish(
                AuditEventBuilder.responseEvent(for: event, status: Int(error.status.code), time: currentMicroseconds()),
                eventType: .response)
            throw error
        } catch {
            await publisher.publish(
                AuditEventBuilder.responseEvent(for: event, status: nil, time: currentMicroseconds()), eventType: .response)
            throw error
        }
        await publisher.publish(
            AuditEventBuilder.responseEvent(for: event, status: status, time: currentMicroseconds()), eventType: .response)
        return response
    }
}

private let requestIDHeader = HTTPField.Name("X-Openstack-Request-Id")!
private let globalRequestIDHeader = HTTPField.Name("X-Openstack-Global-Request-Id")!

/// Keystone's auth headers, as keystonemiddleware reads them after auth_token has run.
@Sendable
public func keystoneHeaders<Context: RequestContext>(_ request: Request, _ context: Context) -> (caller: CallerIdentity, clientAddress: String?) {
    func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { request.headers[$0] } }
    let caller = CallerIdentity(
        userID: header("X-User-Id") ?? "unknown", userName: header("X-User-Name") ?? "unknown",
        projectID: header("X-Project-Id") ?? "unknown", token: header("X-Auth-Token") ?? "",
        identityStatus: header("X-Identity-Status") ?? "unknown")
    let forwarded = header("X-Forwarded-For")?.split(separator: ",").first.map { String($0).trimmingSpaces() }
    return (caller, forwarded)
}

/// The first key of a JSON object, found without parsing the rest (nil when the body is not
/// an object whose first member has a plain string key).
package func firstObjectKey(_ bytes: some Collection<UInt8>) -> String? {
    var iterator = bytes.makeIterator()
    func nextNonSpace() -> UInt8? {
        while let byte = iterator.next() {
            if byte != 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D { return byte }
        }
        return nil
    }
    guard nextNonSpace() == UInt8(ascii: "{"), nextNonSpace() == UInt8(ascii: "\"") else { return nil }
    var key: [UInt8] = []
    while let byte = iterator.next() {
        if byte == UInt8(ascii: "\"") { return String(decoding: key, as: UTF8.self) }
        if byte == UInt8(ascii: "\\") || key.count > 256 { return nil }
        key.append(byte)
    }
    return nil
}
