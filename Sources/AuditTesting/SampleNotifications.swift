// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditTraffic

/// A seeded generator of keystonemiddleware-style audit notification pairs, shaped like
/// `shared/samples/notifications.jsonl`: the oslo 2.0 envelope around the inner message, written
/// byte for byte as Python's `json.dumps` does (`", "` and `": "` separators, `ensure_ascii`).
///
/// Ids, users, projects, services, paths, outcomes, statuses and clocks vary; the same seed gives the
/// same bytes. A request and its response share `payload.id`, `eventTime`, initiator, target and
/// tags; the response changes `outcome` and adds `reason` and `reporterchain` (DESIGN §2).
public struct SampleNotifications {
    private var random: SeededRandom
    private var clockMicros: Int64 = 1_795_342_322_734_485  // 2026-11-22T10:12:02.734485Z
    private let users: [(id: String, name: String, project: String)]

    /// A generator; equal seeds give equal sequences.
    public init(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let names = ["admin", "nova", "glance", "ironic", "heidi.qa310", "alice", "bob.ops", "svc-backup", "j\u{fc}rgen"]
        users = (0..<64).map { i in (random.hex(32), names[i % names.count] + (i < names.count ? "" : "\(i)"), random.hex(32)) }
        self.random = random
    }

    /// The next request/response pair, as Kafka values (oslo 2.0 envelopes).
    public mutating func nextPair() -> (request: [UInt8], response: [UInt8]) {
        clockMicros += Int64(random.next(below: 4_000_000)) + 5_000
        let service = Self.services[random.next(below: Self.services.count)]
        let (method, path, action, targetType) = service.call(&random)
        let user = users[random.next(below: users.count)]
        let status = Self.statuses[random.next(below: Self.statuses.count)]
        let raised = random.next(below: 20) == 0
        let eventTime = clockMicros
        let reporterTime = eventTime + Int64(random.next(below: 900_000)) + 200
        var initiator: [(String, JSONText)] = [
            ("id", .string(user.id)), ("typeURI", .string("service/security/account/user")), ("name", .string(user.name)),
            ("credential", .object([("token", .string(random.token())), ("identity_status", .string(random.next(below: 7) == 0 ? "Invalid" : "Confirmed"))])),
            ("host", .object([("address", .string("203.0.113.\(random.next(below: 254) + 1)")), ("agent", .string(Self.agents[random.next(below: Self.agents.count)]))])),
            ("project_id", .string(user.project)), ("request_id", .string("req-" + random.uuid())),
        ]
        if random.next(below: 3) == 0 { initiator.append(("global_request_id", .string("req-" + random.uuid()))) }
        let addresses = JSONText.array(["admin", "private", "public"].map { name in
            .object([("url", .string((name == "public" ? "https://" + service.publicHost : "http://" + service.internalHost) + service.prefix)), ("name", .string(name))])
        })
        var payload: [(String, JSONText)] = [
            ("typeURI", .string("http://schemas.dmtf.org/cloud/audit/1.0/event")), ("eventType", .string("activity")),
            ("id", .string(random.uuid())), ("eventTime", .string(Self.cadfTime(eventTime))), ("action", .string(action)),
            ("outcome", .string("pending")), ("observer", .object([("id", .string("target"))])),
            ("initiator", .object(initiator)),
            ("target", .object([("id", .string(random.hex(32))), ("typeURI", .string(targetType)), ("name", .string(service.name)), ("addresses", addresses)])),
            ("requestPath", .string(path)), ("tags", .array([.string("correlation_id?value=" + random.uuid())])),
        ]
        _ = method
        let request = envelope(service.publisher, "audit.http.request", .object(payload), eventTime + 800)
        payload[5] = ("outcome", .string(raised ? "unknown" : status < 400 ? "success" : "failure"))
        if !raised { payload.append(("reason", .object([("reasonType", .string("HTTP")), ("reasonCode", .string(String(status)))]))) }
        payload.append(("reporterchain", .array([.object([("role", .string("modifier")), ("reporterTime", .string(Self.cadfTime(reporterTime))), ("reporter", .object([("id", .string("target"))]))])])))
        let response = envelope(service.publisher, "audit.http.response", .object(payload), reporterTime + 300)
        return (request, response)
    }

    /// `count` notifications (pairs, request first), e.g. the 1M-notification benchmark corpus.
    public static func corpus(count: Int, seed: UInt64 = 20_261_122) -> [[UInt8]] {
        var generator = SampleNotifications(seed: seed)
        var result: [[UInt8]] = []
        result.reserveCapacity(count)
        while result.count < count {
            let pair = generator.nextPair()
            result.append(pair.request)
            if result.count < count { result.append(pair.response) }
        }
        return result
    }

    private mutating func envelope(_ publisher: String, _ type: String, _ payload: JSONText, _ micros: Int64) -> [UInt8] {
        let inner = JSONText.object([
            ("message_id", .string(random.uuid())), ("publisher_id", .string(publisher)), ("event_type", .string(type)),
            ("priority", .string("INFO")), ("payload", payload), ("timestamp", .string(Self.osloTime(micros))),
            ("_context", .object([])),
        ])
        var innerText: [UInt8] = []
        inner.write(to: &innerText)
        var out: [UInt8] = []
        out.reserveCapacity(innerText.count + innerText.count / 8 + 64)
        out.append(contentsOf: Array(#"{"oslo.version": "2.0", "oslo.message": "#.utf8))
        JSONText.writeString(innerText, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// pycadf: `%Y-%m-%dT%H:%M:%S.%f+0000`.
    static func cadfTime(_ micros: Int64) -> String {
        Timestamps.cadf(microsecondsSinceEpoch: micros)
    }

    /// oslo: `str(utcnow())`, no fraction when it is zero.
    static func osloTime(_ micros: Int64) -> String {
        Timestamps.oslo(microsecondsSinceEpoch: micros)
    }
}
