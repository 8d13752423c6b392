// AuditTrail — sample traffic
// SPDX-License-Identifier: Apache-2.0

import AuditClient

/// Deterministic, realistic audit traffic: HTTP calls to several OpenStack-like services by
/// many users, turned into notification pairs by ``AuditClient``'s builder exactly as the
/// middleware would. Used by `publish --sample`, the demo, tests and benchmarks.
public struct SampleTraffic: Sendable {
    /// One audited HTTP call.
    public struct Call: Sendable {
        public var request: OsloNotification
        /// The response (outcome success, failure or unknown).
        public var response: OsloNotification
        /// The HTTP status, nil when the handler raised.
        public var status: Int?
    }

    /// An HTTP call before it is audited: what a service's middleware sees.
    public struct HTTPCall: Sendable {
        /// The audited service's builder (its audit map and catalog entry).
        public var builder: AuditEventBuilder
        public var publisherID: String
        public var request: AuditedRequest
        /// Nil when the handler raised.
        public var status: Int?
        /// When the call started (µs since the epoch) and how long it took (µs).
        public var time: Int64
        public var latency: Int64
    }

    struct Service: Sendable {
        var publisherID: String
        var builder: AuditEventBuilder
        var routes: [(method: String, path: String)]
    }

    private var random: SeededRandom
    private var time: Int64
    private let services: [Service]
    private let users: [(id: String, name: String, project: String, token: String)]

    /// Traffic from `seed`, starting at `startTime` (µs since the epoch).
    public init(seed: UInt64 = 42, startTime: Int64 = 1_795_342_322_000_000) {
        var random = SeededRandom(seed: seed)
        self.time = startTime
        func hex(_ count: Int, _ random: inout SeededRandom) -> String {
            String((0..<count).map { _ in "0123456789abcdef".randomElement(using: &random)! })
        }
        let projects = (0..<12).map { _ in hex(32, &random) }
        let names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "zoe"]
        var users: [(String, String, String, String)] = []
        for i in 0..<40 {
            let token = "gAAAAAB" + String((0..<176).map { _ in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".randomElement(using: &random)! })
            users.append((hex(32, &random), "\(names[i % names.count]).\(["ops", "dev", "qa", "sre"][i % 4])\(100 + i)", projects[i % projects.count], token))
        }
        self.users = users
        func service(_ publisher: String, _ id: String, _ name: String, _ type: String, _ port: Int, _ prefix: String,
                     _ keywords: [String: String], _ routes: [(String, String)]) -> Service {
            let host = "\(name).internal.cloud.example"
            return Service(
                publisherID: publisher,
                builder: AuditEventBuilder(
                    auditMap: AuditMap(pathKeywords: keywords, customActions: ["detail": "read/list"],
                                       serviceEndpoints: [type: "service/\(type == "volumev3" ? "storage/block" : type)"]),
                    service: ServiceInfo(id: id, name: name, type: type, adminURL: "http://\(host):\(port)\(prefix)",
                                         internalURL: "http://\(host):\(port)\(prefix)", publicURL: "https://\(type).cloud.example:\(port)\(prefix)")),
                routes: routes.map { (method: $0.0, path: $0.1) })
        }
        self.services = [
            service("nova-api-wsgi", hex(32, &random), "nova", "compute", 8774, "/v2.1",
                    ["servers": "server", "detail": "None", "action": "None", "flavors": "flavor", "os-keypairs": "keypair"],
                    [("GET", "/v2.1/servers"), ("GET", "/v2.1/servers/detail"), ("GET", "/v2.1/servers/{id}"), ("POST", "/v2.1/servers"),
                     ("POST", "/v2.1/servers/{id}/action"), ("DELETE", "/v2.1/servers/{id}"), ("GET", "/v2.1/flavors/detail"),
                     ("PUT", "/v2.1/servers/{id}"), ("GET", "/v2.1/os-keypairs")]),
            service("glance-api", hex(32, &random), "glance", "image", 9292, "",
                    ["images": "image", "file": "None", "tags": "tag"],
                    [("GET", "/v2/images"), ("GET", "/v2/images/{id}"), ("POST", "/v2/images"), ("PUT", "/v2/images/{id}/file"),
                     ("PATCH", "/v2/images/{id}"), ("DELETE", "/v2/images/{id}")]),
            service("keystone-wsgi-public", hex(32, &random), "keystone", "identity", 5000, "/v3",
                    ["auth": "None", "tokens": "None", "projects": "project", "users": "user"],
                    [("POST", "/v3/auth/tokens"), ("GET", "/v3/auth/tokens"), ("DELETE", "/v3/auth/tokens"), ("GET", "/v3/projects"),
                     ("GET", "/v3/users/{id}"), ("PATCH", "/v3/users/{id}")]),
            service("ironic-api", hex(32, &random), "ironic", "baremetal", 6385, "",
                    ["nodes": "node", "states": "None", "power": "None", "provision": "None"],
                    [("GET", "/v1/nodes"), ("GET", "/v1/nodes/{id}"), ("PUT", "/v1/nodes/{id}/states/power"),
                     ("PUT", "/v1/nodes/{id}/states/provision"), ("PATCH", "/v1/nodes/{id}")]),
            service("cinder-api", hex(32, &random), "cinder", "volumev3", 8776, "/v3",
                    ["volumes": "volume", "detail": "None", "action": "None", "snapshots": "snapshot"],
                    [("GET", "/v3/{project}/volumes/detail"), ("POST", "/v3/{project}/volumes"), ("DELETE", "/v3/{project}/volumes/{id}"),
                     ("POST", "/v3/{project}/volumes/{id}/action"), ("GET", "/v3/{project}/snapshots")]),
        ]
        self.random = random
    }

    private static let statuses: [Int?] = [200, 200, 200, 200, 200, 200, 201, 202, 204, 204, 200, 200, 302, 400, 401, 403, 404, 404, 409, 500, 503, nil]
    private static let agents = ["openstacksdk/3.3.0 keystoneauth1/5.8.0 python-requests/2.32.3 CPython/3.12.3",
                                 "python-novaclient", "Terraform/1.9.5 terraform-provider-openstack/2.1.0", "gophercloud/v2.1.0"]

    /// The next HTTP call; calls are 0–40 ms apart and take 2–900 ms.
    public mutating func nextHTTPCall() -> HTTPCall {
        let service = services[Int(random.next() % UInt64(services.count))]
        let route = service.routes[Int(random.next() % UInt64(service.routes.count))]
        let user = users[Int(random.next() % UInt64(users.count))]
        let objectID = UUIDText.random(using: &random)
        let path = route.path.replacing("{id}", with: objectID).replacing("{project}", with: user.project)
        time += Int64(random.next() % 40_000)
        let status = Self.statuses[Int(random.next() % UInt64(Self.statuses.count))]
        let request = AuditedRequest(
            method: route.method, path: path, query: route.method == "GET" && random.next() % 3 == 0 ? "limit=\(random.next() % 100 + 1)" : nil,
            clientAddress: "203.0.113.\(random.next() % 250 + 1)", userAgent: Self.agents[Int(random.next() % UInt64(Self.agents.count))],
            caller: CallerIdentity(userID: user.id, userName: user.name, projectID: user.project, token: user.token, identityStatus: "Confirmed"),
            requestID: "req-\(UUIDText.random(using: &random))",
            bodyFirstKey: path.hasSuffix("/action") ? ["os-start", "os-stop", "reboot", "resize", "os-extend"][Int(random.next() % 5)] : nil)
        return HTTPCall(
            builder: service.builder, publisherID: service.publisherID, request: request, status: status, time: time,
            latency: Int64(2_000 + random.next() % 898_000))
    }

    /// The next call, audited: its request and response notifications.
    public mutating func next() -> Call {
        let call = nextHTTPCall()
        let event = call.builder.requestEvent(
            for: call.request, time: call.time, id: UUIDText.random(using: &random), correlationID: UUIDText.random(using: &random))
        let response = AuditEventBuilder.responseEvent(for: event, status: call.status, time: call.time + call.latency)
        return Call(
            request: OsloNotification(
                messageID: UUIDText.random(using: &random), publisherID: call.publisherID, eventType: .request,
                payload: event, timestamp: Timestamps.oslo(microsecondsSinceEpoch: call.time + 700)),
            response: OsloNotification(
                messageID: UUIDText.random(using: &random), publisherID: call.publisherID, eventType: .response,
                payload: response, timestamp: Timestamps.oslo(microsecondsSinceEpoch: call.time + call.latency + 900)),
            status: call.status)
    }
}
