// AuditTrail — AuditStore tests
// SPDX-License-Identifier: Apache-2.0

@testable import AuditStore
import AuditTesting
import Foundation

/// A fresh directory under the system temp dir, removed on deinit.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "audit-store-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ relative: String) -> String { path + "/" + relative }
}

/// Random records of every kind, with field values from small pools so that filters hit.
struct RecordFactory {
    var random: SeededRandom
    var nextOffset: Int64
    var pairs: [String] = []

    init(seed: UInt64, firstOffset: Int64 = 0) {
        random = SeededRandom(seed: seed)
        nextOffset = firstOffset
    }

    static let users = ["alice", "bob", "carol", "dave", "erin"]
    static let projects = ["p-red", "p-green", "p-blue"]
    static let actions = ["read", "read/list", "create", "update", "delete", "authenticate/login"]
    static let outcomes = ["pending", "success", "failure", "unknown"]
    static let types = ["service/compute/servers", "service/image/images", "service/identity/auth/tokens"]
    static let publishers = ["nova-api", "glance-api", "keystone"]

    private mutating func pick(_ values: [String]) -> String? {
        Int.random(in: 0..<8, using: &random) == 0 ? nil : values.randomElement(using: &random)
    }

    mutating func notification(id: String? = nil, eventType: NotificationFields.EventType? = nil) -> StoreRecord {
        let id = id ?? (pairs.isEmpty || Bool.random(using: &random) ? "id-\(random.next() % 100_000)" : pairs.randomElement(using: &random)!)
        pairs.append(id)
        if pairs.count > 50 { pairs.removeFirst() }
        let fields = NotificationFields(
            id: id, eventType: eventType ?? (Bool.random(using: &random) ? .request : .response),
            eventTime: Int.random(in: 0..<10, using: &random) == 0 ? nil : 1_700_000_000_000_000 + Int64(random.next() % 10_000_000),
            initiatorId: pick(Self.users).map { "uid-" + $0 }, initiatorName: pick(Self.users), projectId: pick(Self.projects),
            action: pick(Self.actions), outcome: pick(Self.outcomes), reasonCode: pick(["200", "404", "500"]),
            targetId: pick(["t1", "t2", "t3"]), targetTypeURI: pick(Self.types), publisher: pick(Self.publishers),
            requestPath: pick(["/v2.1/servers", "/v3/auth/tokens"]), messageId: "m-\(random.next())")
        let size = Int.random(in: 20..<600, using: &random)
        var bytes = Array("{\"id\":\"\(id)\",\"pad\":\"".utf8)
        for _ in 0..<size { bytes.append(UInt8.random(in: 97...102, using: &random)) }
        bytes.append(contentsOf: Array("\"}".utf8))
        return StoreRecord(offset: 0, timestamp: 1_700_000_000_000 + Int64(random.next() % 10_000), body: .notification(fields, bytes: bytes))
    }

    /// The next record, of a random kind, at the next offset.
    mutating func next() -> StoreRecord {
        var record: StoreRecord
        switch Int.random(in: 0..<20, using: &random) {
        case 0: record = StoreRecord(offset: 0, timestamp: 5, body: .quarantined(reason: "notJSON", detail: "at 3", bytes: [1, 2, 3]))
        case 1: record = StoreRecord(offset: 0, timestamp: 6, body: .skipped(eventType: "compute.instance.create.end"))
        case 2: record = StoreRecord(offset: 0, timestamp: 7, body: .forwarded(topic: "elsewhere.by-id", key: "id-\(random.next() % 100)"))
        case 3: record = StoreRecord(offset: 0, timestamp: 8, body: .gap(to: nextOffset + Int64.random(in: 1...5, using: &random)))
        default: record = notification()
        }
        if Int.random(in: 0..<5, using: &random) == 0 {
            record.origin = Origin(topic: "notifications.info", partition: 3, offset: Int64(random.next() % 1000), timestamp: 42)
        }
        record.offset = nextOffset
        nextOffset = record.nextOffset
        return record
    }

    mutating func batch(_ count: Int) -> [StoreRecord] { (0..<count).map { _ in next() } }
}

/// `count` random records appended to log ("by-id", 0) of a new store in `directory`, then sealed.
func sealedLog(in directory: TemporaryDirectory, options: StoreOptions, seed: UInt64, count: Int) throws
    -> (AuditStore, [StoreRecord])
{
    let store = try AuditStore(directory: directory.path, options: options)
    let writer = try store.openWriter(topic: "by-id", partition: 0)
    var factory = RecordFactory(seed: seed)
    let records = factory.batch(count)
    try writer.append(records)
    try writer.seal()
    return (store, records)
}

/// Small segments and blocks so tests cross many boundaries with little data.
/// - Parameter journalVersion: 3 (what writers write), or 2 for the tests of version 2 journals.
func smallOptions(clock: @escaping @Sendable () -> Int64 = { 0 }, journalVersion: Int = 3) -> StoreOptions {
    var options = StoreOptions()
    options.journalVersion = journalVersion
    options.segmentMaxBytes = 64 << 10
    options.blockSize = 4 << 10
    options.dictionaryTrainingBytes = 16 << 10
    options.dictionaryCapacity = 8 << 10
    options.pairWindowBytes = 12 << 10
    options.clock = clock
    return options
}

/// A record with its index-derived digest filled as the store fills it, for equality checks.
func normalized(_ record: StoreRecord) -> StoreRecord {
    guard case .notification(var fields, let bytes) = record.body, fields.digest == nil else { return record }
    fields.digest = NotificationFields.contentDigest(of: bytes)
    var out = record
    out.body = .notification(fields, bytes: bytes)
    return out
}


/// The first index where two record lists differ, with both sides, or `nil` when equal.
func firstDifference(_ a: [StoreRecord], _ b: [StoreRecord]) -> String? {
    for i in 0..<min(a.count, b.count) where a[i] != b[i] {
        return "at \(i): \(String(describing: a[i]).prefix(600)) != \(String(describing: b[i]).prefix(600))"
    }
    return a.count == b.count ? nil : "counts \(a.count) != \(b.count)"
}
