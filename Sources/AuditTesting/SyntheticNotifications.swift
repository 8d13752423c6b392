// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditTraffic

/// One generated notification: the exact bytes a publisher sends, and the fields a decoder
/// would extract from them.
public struct SyntheticNotification: Sendable {
    /// The Kafka message value: an oslo 2.0 envelope around the inner message.
    public var bytes: [UInt8]
    /// CADF `payload.id`, shared by both halves.
    public var id: String
    /// `true` for `audit.http.request`, `false` for the response.
    public var isRequest: Bool
    /// CADF eventTime, µs since the epoch.
    public var eventTime: Int64
    /// oslo timestamp, ms since the epoch (used as the Kafka timestamp).
    public var timestamp: Int64
    /// `initiator.id`
    public var initiatorId: String
    /// `initiator.name`
    public var initiatorName: String
    /// `initiator.project_id`
    public var projectId: String
    /// CADF action.
    public var action: String
    /// CADF outcome.
    public var outcome: String
    /// HTTP status of a response (none when the app raised).
    public var reasonCode: String?
    /// `target.id`
    public var targetId: String
    /// `target.typeURI`
    public var targetTypeURI: String
    /// oslo `publisher_id`.
    public var publisher: String
    /// CADF requestPath.
    public var requestPath: String
    /// oslo `message_id`.
    public var messageId: String
}

/// A seeded generator of keystonemiddleware-shaped audit notifications (request + response
/// pairs, as in `shared/samples/`): several services, users, paths and outcomes, responses
/// arriving after their requests interleaved with other calls, and 1% of responses missing.
///
/// Named apart from `SampleNotifications` (the CADF issue's fixture set) on purpose; the store
/// benchmark needs volume, not fidelity to every wire form.
public struct SyntheticNotifications: Sendable {
    private var random: SplitMix64
    private var clock: Int64
    private let callInterval: Int64
    private var pending: [(due: Int64, notification: SyntheticNotification)] = []
    private let users: [(id: String, name: String, project: String, address: String)]

    /// - Parameters:
    ///   - seed: the same seed gives the same notifications.
    ///   - start: eventTime of the first call, µs since the epoch.
    ///   - callsPerSecond: arrival rate of calls (each makes two notifications).
    ///   - population: the seed of the users and projects (default: `seed`); generators with other
    ///     seeds and the same population make other calls of the same users, so that several can
    ///     write one store's partitions in parallel.
    public init(
        seed: UInt64, start: Int64 = 1_795_000_000_000_000, callsPerSecond: Int = 2000, population: UInt64? = nil
    ) {
        random = SplitMix64(seed: seed)
        clock = start
        callInterval = 1_000_000 / Int64(max(1, callsPerSecond))
        var users: [(String, String, String, String)] = []
        var r = SplitMix64(seed: (population ?? seed) ^ 0x5eed)
        let projects = (0..<120).map { _ in r.hex(32) }
        let first = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "walter"]
        for i in 0..<600 {
            let name = i < 8 ? ["nova", "glance", "neutron", "cinder", "ironic", "admin", "unknown", "placement"][i]
                : "\(first[Int(r.next() % UInt64(first.count))]).\(["ops", "dev", "qa"][Int(r.next() % 3)])\(r.next() % 400)"
            users.append((r.hex(32), name, projects[Int(r.next() % UInt64(projects.count))], "203.0.113.\(r.next() % 250)"))
        }
        self.users = users
    }

    /// The next `count` notifications in arrival order.
    public mutating func next(_ count: Int) -> [SyntheticNotification] {
        var out: [SyntheticNotification] = []
        out.reserveCapacity(count)
        while out.count < count {
            if let first = pending.first, first.due <= clock {
                out.append(pending.removeFirst().notification)
                continue
            }
            let (request, response) = call()
            out.append(request)
            if let response {
                let due = response.timestamp * 1000
                let index = pending.firstIndex { $0.due > due } ?? pending.endIndex
                pending.insert((due, response), at: index)
            }
            clock += Int64(random.next() % UInt64(2 * callInterval + 1))
        }
        return out
    }

    private struct Service {
        var publisher: String
        var name: String
        var targetId: String
        var endpoint: String
        var operations: [(action: String, path: String, typeURI: String)]
    }

    private static let services: [Service] = [
        Service(publisher: "nova-api-wsgi", name: "nova", targetId: "18e8a74ee35ed14e384ca9d3940ccbbd", endpoint: "nova.internal.cloud.example:8774/v2.1\\\", \\\"name\\\": \\\"admin\\\"}, {\\\"url\\\": \\\"https://compute.cloud.example:8774/v2.1", operations: [
            ("read/list", "/v2.1/servers/detail", "service/compute/servers/detail"),
            ("read", "/v2.1/servers/{uuid}", "service/compute/servers/server"),
            ("create", "/v2.1/servers", "service/compute/servers"),
            ("delete", "/v2.1/servers/{uuid}", "service/compute/servers/server"),
            ("update/start", "/v2.1/servers/{uuid}/action", "service/compute/servers/server/action"),
        ]),
        Service(publisher: "glance-api", name: "glance", targetId: "5e0f0c6b7b3e4f0a9c1d2e3f4a5b6c7d", endpoint: "glance.internal.cloud.example:9292\\\", \\\"name\\\": \\\"admin\\\"}, {\\\"url\\\": \\\"https://image.cloud.example:9292", operations: [
            ("read/list", "/v2/images?limit=20&sort=created_at:desc", "service/storage/image/images"),
            ("read", "/v2/images/{uuid}", "service/storage/image/images/image"),
            ("read/download", "/v2/images/{uuid}/file", "service/storage/image/images/image/file"),
        ]),
        Service(publisher: "keystone-wsgi-public", name: "keystone", targetId: "2409e9b41b342ec60f675ca800a808d3", endpoint: "keystone.internal.cloud.example:5000/v3\\\", \\\"name\\\": \\\"admin\\\"}, {\\\"url\\\": \\\"https://identity.cloud.example:5000/v3", operations: [
            ("authenticate", "/v3/auth/tokens", "service/identity/auth/tokens"),
            ("delete/token", "/v3/auth/tokens", "service/identity/auth/tokens"),
            ("read", "/v3/users/{hex}", "service/identity/users/user"),
            ("update/password", "/v3/users/{hex}/password", "service/identity/users/user/password"),
        ]),
        Service(publisher: "ironic-api-wsgi", name: "ironic", targetId: "7c2d4e6f8a0b1c3d5e7f9a1b3c5d7e9f", endpoint: "ironic.internal.cloud.example:6385/v1\\\", \\\"name\\\": \\\"admin\\\"}, {\\\"url\\\": \\\"https://baremetal.cloud.example:6385/v1", operations: [
            ("read/list", "/v1/ports/detail?node={uuid}", "service/compute/baremetal/ports/detail"),
            ("update", "/v1/nodes/{uuid}", "service/compute/baremetal/nodes/node"),
        ]),
        Service(publisher: "cinder-api", name: "cinder", targetId: "3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b", endpoint: "cinder.internal.cloud.example:8776/v3\\\", \\\"name\\\": \\\"admin\\\"}, {\\\"url\\\": \\\"https://volume.cloud.example:8776/v3", operations: [
            ("read/list", "/v3/{hex}/volumes/detail", "service/storage/block/volumes/detail"),
            ("create", "/v3/{hex}/volumes", "service/storage/block/volumes"),
        ]),
    ]

    private mutating func call() -> (SyntheticNotification, SyntheticNotification?) {
        let service = Self.services[Int(random.next() % UInt64(Self.services.count))]
        let operation = service.operations[Int(random.next() % UInt64(service.operations.count))]
        // A few busy users make most calls, as in the field.
        let userIndex = random.next() % 4 == 0 ? Int(random.next() % UInt64(users.count)) : Int(random.next() % 40)
        let user = users[userIndex]
        let path = fill(operation.path)
        let id = random.uuid()
        let eventTime = clock
        let latency = Int64(2_000 + random.next() % 400_000)
        let roll = random.next() % 100
        let (outcome, status): (String, String?) =
            roll < 85 ? ("success", ["200", "200", "200", "201", "202", "204"][Int(random.next() % 6)])
            : roll < 97 ? ("failure", ["400", "401", "403", "404", "404", "409", "500", "503"][Int(random.next() % 8)])
            : ("unknown", nil)
        let token = "gAAAAAB" + random.base64(24) + " xxxxxxxx " + random.base64(28)
        let global = random.next() % 10 < 3 ? ", \\\"global_request_id\\\": \\\"req-\(random.uuid())\\\"" : ""
        let status2 = random.next() % 10 == 0 ? "Invalid" : "Confirmed"
        let head = """
            \\"typeURI\\": \\"http://schemas.dmtf.org/cloud/audit/1.0/event\\", \\"eventType\\": \\"activity\\", \\"id\\": \\"\(id)\\", \\"eventTime\\": \\"\(Self.cadfTime(eventTime))\\", \\"action\\": \\"\(operation.action)\\", \\"outcome\\": \\"
            """
        let tail = """
            \\", \\"observer\\": {\\"id\\": \\"target\\"}, \\"initiator\\": {\\"id\\": \\"\(user.id)\\", \\"typeURI\\": \\"service/security/account/user\\", \\"name\\": \\"\(user.name)\\", \\"credential\\": {\\"token\\": \\"\(token)\\", \\"identity_status\\": \\"\(status2)\\"}, \\"host\\": {\\"address\\": \\"\(user.address)\\", \\"agent\\": \\"openstacksdk/3.3.0 keystoneauth1/5.8.0 python-requests/2.32.3 CPython/3.12.3\\"}, \\"project_id\\": \\"\(user.project)\\", \\"request_id\\": \\"req-\(random.uuid())\\"\(global)}, \\"target\\": {\\"id\\": \\"\(service.targetId)\\", \\"typeURI\\": \\"\(operation.typeURI)\\", \\"name\\": \\"\(service.name)\\", \\"addresses\\": [{\\"url\\": \\"http://\(service.endpoint)\\", \\"name\\": \\"public\\"}]}, \\"requestPath\\": \\"\(path)\\", \\"tags\\": [\\"correlation_id?value=\(random.uuid())\\"]
            """
        func make(_ isRequest: Bool) -> SyntheticNotification {
            let messageId = random.uuid()
            let sent = eventTime + (isRequest ? 700 : latency + 500)
            var payload = head + (isRequest ? "pending" : outcome) + tail
            if !isRequest {
                if let status { payload += ", \\\"reason\\\": {\\\"reasonType\\\": \\\"HTTP\\\", \\\"reasonCode\\\": \\\"\(status)\\\"}" }
                payload += ", \\\"reporterchain\\\": [{\\\"role\\\": \\\"modifier\\\", \\\"reporterTime\\\": \\\"\(Self.cadfTime(eventTime + latency))\\\", \\\"reporter\\\": {\\\"id\\\": \\\"target\\\"}}]"
            }
            let text = "{\"oslo.version\": \"2.0\", \"oslo.message\": \"{\\\"message_id\\\": \\\"\(messageId)\\\", \\\"publisher_id\\\": \\\"\(service.publisher)\\\", \\\"event_type\\\": \\\"audit.http.\(isRequest ? "request" : "response")\\\", \\\"priority\\\": \\\"INFO\\\", \\\"payload\\\": {\(payload)}, \\\"timestamp\\\": \\\"\(Self.osloTime(sent))\\\", \\\"_context\\\": {}}\"}"
            return SyntheticNotification(
                bytes: Array(text.utf8), id: id, isRequest: isRequest, eventTime: eventTime, timestamp: sent / 1000,
                initiatorId: user.id, initiatorName: user.name, projectId: user.project, action: operation.action,
                outcome: isRequest ? "pending" : outcome, reasonCode: isRequest ? nil : status,
                targetId: service.targetId, targetTypeURI: operation.typeURI, publisher: service.publisher,
                requestPath: path, messageId: messageId)
        }
        let request = make(true)
        return (request, random.next() % 100 == 0 ? nil : make(false))
    }

    /// `template` with each `{uuid}` and `{hex}` replaced by a random one.
    private mutating func fill(_ template: String) -> String {
        var out = ""
        var rest = Substring(template)
        while let brace = rest.firstIndex(of: "{") {
            out += rest[..<brace]
            rest = rest[brace...]
            if rest.hasPrefix("{uuid}") {
                out += random.uuid()
                rest = rest.dropFirst(6)
            } else {
                out += random.hex(32)
                rest = rest.dropFirst(5)
            }
        }
        return out + rest
    }

    /// `2026-11-22T10:12:02.734485+0000` (pycadf).
    static func cadfTime(_ micros: Int64) -> String {
        Timestamps.cadf(microsecondsSinceEpoch: micros)
    }

    /// `2026-11-22 10:12:02.735273` (oslo; no fraction when it is zero).
    static func osloTime(_ micros: Int64) -> String {
        Timestamps.oslo(microsecondsSinceEpoch: micros)
    }
}

/// The generator's draws: ``SeededRandom``'s sequence, with the alphabets this generator uses.
struct SplitMix64: Sendable {
    private var source: SeededRandom
    init(seed: UInt64) { source = SeededRandom(seed: seed) }

    mutating func next() -> UInt64 { source.next() }

    private static let hexDigits = Array("0123456789abcdef".utf8)
    private static let base64Digits = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    mutating func hex(_ count: Int) -> String { string(count, Self.hexDigits) }
    mutating func base64(_ count: Int) -> String { string(count, Self.base64Digits) }

    mutating func uuid() -> String {
        var u = Array(hex(36).utf8)
        for dash in [8, 13, 18, 23] { u[dash] = 45 }
        u[14] = 52  // version 4
        return String(decoding: u, as: UTF8.self)
    }

    private mutating func string(_ count: Int, _ alphabet: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(count)
        var bits = next()
        var left = 10
        for _ in 0..<count {
            if left == 0 {
                bits = next()
                left = 10
            }
            out.append(alphabet[Int(bits & UInt64(alphabet.count - 1))])
            bits >>= 6
            left -= 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
