// AuditTrail — read-side tests
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import AuditQuery
import AuditStore
import AuditTesting
import Foundation
import Testing

/// The auditor's query over the pair view (issue: query results equal a brute-force filter over
/// the exported data, for every filter and for negations).
@Suite struct CallQueryTests {
    /// A store of sample traffic with pairs, pending halves, orphans, conflicts, duplicates and
    /// quarantined records; `now` is its last call, the window 10 s (so the last ~third is pending).
    final class Fixture: @unchecked Sendable {
        let directory = NSTemporaryDirectory() + "audit-query-" + UUID().uuidString
        let sample: SampleStore
        let now: Int64
        let window: Int64 = 10_000_000
        let trail: Trail
        /// The exported JSON lines, parsed by Foundation (independent of the store's decoder).
        let exported: [[String: Any]]

        init() throws {
            sample = try SampleStore.write(directory: directory, calls: 1500, partitions: 2, sealEvery: 700)
            now = sample.lastTime
            trail = try Trail(directory: directory, window: window, now: now, indexOnly: true)
            let reader = try AuditStore(directory: directory).reader()
            exported = try trail.calls.map { call in
                let line = CallFormat.jsonLine(try call.loadingBodies(from: reader) { _, _ in nil })
                return try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            }
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// What the brute force knows of one exported call, read from the embedded notifications.
    struct Exported {
        var id: String
        var eventTime: Int64?
        var initiatorId, initiatorName, project, action, targetType, target, publisher, path: String?
        var requestID, globalRequestID: String?
        var outcome: String
        var status: Int?
        var hasRequest, hasResponse: Bool

        init(_ line: [String: Any]) {
            func message(_ half: String) -> [String: Any]? {
                guard let envelope = line[half] as? [String: Any], let inner = envelope["oslo.message"] as? String else { return nil }
                return try? JSONSerialization.jsonObject(with: Data(inner.utf8)) as? [String: Any]
            }
            let request = message("request")
            let response = message("response")
            let first = request ?? response!
            let payload = first["payload"] as! [String: Any]
            let initiator = payload["initiator"] as? [String: Any]
            let targetObject = payload["target"] as? [String: Any]
            id = payload["id"] as! String
            eventTime = Timestamp.parse(payload["eventTime"] as! String)?.microsecondsSinceEpoch
            initiatorId = initiator?["id"] as? String
            initiatorName = initiator?["name"] as? String
            project = initiator?["project_id"] as? String
            requestID = initiator?["request_id"] as? String
            globalRequestID = initiator?["global_request_id"] as? String
            action = payload["action"] as? String
            targetType = targetObject?["typeURI"] as? String
            target = targetObject?["id"] as? String
            publisher = first["publisher_id"] as? String
            path = payload["requestPath"] as? String
            let responsePayload = response?["payload"] as? [String: Any]
            outcome = responsePayload?["outcome"] as? String ?? "pending"
            status = ((responsePayload?["reason"] as? [String: Any])?["reasonCode"] as? String).flatMap { Int($0) }
            hasRequest = request != nil
            hasResponse = response != nil
        }

        func holds(_ condition: CallFilter.Condition, now: Int64, window: Int64) -> Bool {
            switch condition {
            case .id(let value): return id == value
            case .since(let time): return eventTime.map { $0 >= time } ?? false
            case .until(let time): return eventTime.map { $0 < time } ?? false
            case .initiator(let who): return initiatorId == who || initiatorName == who
            case .project(let value): return project == value
            case .actionPrefix(let prefix): return action?.hasPrefix(prefix) ?? false
            case .outcome(let value): return outcome == value
            case .status(let value): return status == value
            case .targetType(let value): return targetType == value
            case .target(let value): return target == value
            case .publisher(let value): return publisher == value
            case .pathPrefix(let prefix): return path?.hasPrefix(prefix) ?? false
            case .requestID(let value): return requestID == value
            case .globalRequestID(let value): return globalRequestID == value
            case .orphan: return hasRequest != hasResponse && (eventTime ?? 0) <= now - window
            }
        }
    }

    static let fixture = Result { try Fixture() }

    @Test func exportHoldsEveryCallWithItsNotifications() throws {
        let fixture = try Self.fixture.get()
        let sample = fixture.sample
        #expect(fixture.exported.count == sample.calls)
        let calls = fixture.exported.map(Exported.init)
        #expect(Set(calls.map(\.id)).count == sample.calls)
        #expect(Set(calls.filter { !$0.hasResponse }.map(\.id)) == sample.missingResponses)
        #expect(Set(calls.filter { !$0.hasRequest }.map(\.id)) == sample.missingRequests)
        let conflicted = fixture.exported.filter { ($0["conflicts"] as? Int ?? 0) > 0 }.map { $0["id"] as! String }
        #expect(Set(conflicted) == sample.conflicts)
        // Sources say where each half is stored.
        for line in fixture.exported.prefix(50) {
            let source = (line["requestSource"] as? [String: Any]) ?? (line["responseSource"] as? [String: Any])
            #expect(source?["topic"] as? String == "notifications.info")
            #expect(source?["offset"] is Int)
        }
    }

    @Test func everyFilterAndItsNegationEqualABruteForceScanOfTheExport() throws {
        let fixture = try Self.fixture.get()
        let calls = fixture.exported.map(Exported.init)
        var random = SeededRandom(seed: 77)
        func some<T>(_ values: [T?]) -> T { values.compactMap { $0 }.randomElement(using: &random)! }
        let span = fixture.sample.lastTime - fixture.sample.firstTime
        var conditions: [CallFilter.Condition] = [
            .since(fixture.sample.firstTime + span / 3), .until(fixture.sample.firstTime + 2 * span / 3),
            .outcome("success"), .outcome("failure"), .outcome("pending"), .status(200), .status(404), .orphan,
        ]
        for _ in 0..<3 {
            let call = calls.randomElement(using: &random)!
            conditions += [
                .id(call.id), .initiator(some(calls.map(\.initiatorId))), .initiator(some(calls.map(\.initiatorName))),
                .project(some(calls.map(\.project))), .targetType(some(calls.map(\.targetType))),
                .target(some(calls.map(\.target))), .publisher(some(calls.map(\.publisher))),
                .actionPrefix(String(some(calls.map(\.action)).split(separator: "/")[0])),
                .pathPrefix("/" + some(calls.map(\.path)).split(separator: "/").prefix(2).joined(separator: "/")),
                .requestID(some(calls.map(\.requestID))),
            ]
        }
        for condition in conditions {
            for negated in [false, true] {
                let filter = CallFilter(condition, negated: negated)
                var query = CallQuery()
                query.filters = [filter]
                let answer = try query.page(of: fixture.trail.calls).calls.map(\.id)
                let expected = calls.filter { $0.holds(condition, now: fixture.now, window: fixture.window) != negated }.map(\.id)
                #expect(Set(answer) == Set(expected), "\(filter)")
                #expect(answer.count == expected.count, "\(filter): no call twice")
                if !negated { #expect(!expected.isEmpty, "\(filter) matches something in the sample") }
            }
        }
        // Conjunctions of two to four filters, each possibly negated.
        for _ in 0..<200 {
            let filters = (0..<Int.random(in: 2...4, using: &random)).map { _ in
                CallFilter(conditions.randomElement(using: &random)!, negated: Bool.random(using: &random))
            }
            var query = CallQuery()
            query.filters = filters
            let answer = Set(try query.page(of: fixture.trail.calls).calls.map(\.id))
            let expected = Set(calls.filter { call in
                filters.allSatisfy { call.holds($0.condition, now: fixture.now, window: fixture.window) != $0.negated }
            }.map(\.id))
            #expect(answer == expected, "\(filters)")
        }
    }

    @Test func pagesVisitEveryCallOnceInEverySortOrder() throws {
        let fixture = try Self.fixture.get()
        let reader = try AuditStore(directory: fixture.directory).reader()
        // Latency needs the responses' bodies.
        var decoder = NotificationDecoder(validator: try SchemaValidator.bundled())
        let calls = try fixture.trail.calls.map { call in
            try call.loadingBodies(from: reader) { _, response in
                guard case .audit(let decoded) = decoder.decode(response.record.bytes!) else { return nil }
                return decoded.latencyNanoseconds.map { Double($0) / 1e6 }
            }
        }
        #expect(calls.contains { $0.latencyMilliseconds != nil })
        for key in CallQuery.SortKey.allCases {
            for descending in [false, true] {
                var query = CallQuery()
                query.sort = key
                query.descending = descending
                query.filters = [CallFilter(.outcome("unknown"), negated: true)]
                let whole = try query.page(of: calls).calls.map(\.id)
                query.limit = 200
                var paged: [String] = []
                var pages = 0
                repeat {
                    let page = try query.page(of: calls)
                    paged += page.calls.map(\.id)
                    query.after = page.next
                    pages += 1
                } while query.after != nil
                #expect(paged == whole, "sort \(key) descending \(descending)")
                #expect(pages == (whole.count + 199) / 200)
                #expect(Set(whole).count == whole.count)
            }
        }
        // A trail's own calls in time order: walked from the cursor, the same pages and cursors.
        for descending in [false, true] {
            for filters in [[], [CallFilter(.outcome("success"))], [CallFilter(.orphan)], [CallFilter(.id("none"))]] {
                for limit in [nil, 0, 1, 97, 400] as [Int?] {
                    var query = CallQuery()
                    query.descending = descending
                    query.filters = filters
                    query.limit = limit
                    var pages = 0
                    repeat {
                        let general = try query.page(of: fixture.trail.calls)
                        let walked = try query.page(of: fixture.trail)
                        #expect(walked.calls.map(\.id) == general.calls.map(\.id) && walked.next == general.next,
                                "descending \(descending), \(filters), limit \(limit.map(String.init) ?? "-"), page \(pages)")
                        query.after = general.next
                        pages += 1
                    } while query.after != nil && pages < (limit == 1 ? 20 : 2_000)
                }
            }
        }
        var byTime = CallQuery()
        let times = try byTime.page(of: calls).calls.map { $0.eventTime ?? .min }
        #expect(times == times.sorted())
        byTime.limit = 10
        let cursor = try byTime.page(of: calls).next!
        var byStatus = CallQuery()
        byStatus.sort = .status
        byStatus.after = cursor
        #expect(throws: CallQuery.CursorError.self) { try byStatus.page(of: calls) }
        // Sorted by latency, largest first: the first page holds the slowest calls.
        var slowest = CallQuery()
        slowest.sort = .latency
        slowest.descending = true
        slowest.limit = 5
        let top = try slowest.page(of: calls).calls.compactMap(\.latencyMilliseconds)
        let maximum = calls.compactMap(\.latencyMilliseconds).max()!
        #expect(top.first == maximum)
        #expect(top == top.sorted(by: >))
    }

    @Test func statisticsCountWhatTheSampleWrote() throws {
        let fixture = try Self.fixture.get()
        let sample = fixture.sample
        // Long after the last call: every single half is an orphan.
        let statistics = try Trail(directory: fixture.directory, window: 1, now: .max, indexOnly: true).statistics
        #expect(statistics.orphanRequests == sample.missingResponses.count)
        #expect(statistics.orphanResponses == sample.missingRequests.count)
        #expect(statistics.pairs == sample.calls - sample.missingRequests.count - sample.missingResponses.count)
        #expect(statistics.conflicts == sample.conflicts.count)
        #expect(statistics.duplicates == sample.duplicates)
        #expect(statistics.quarantined == sample.quarantined)
        #expect(statistics.quarantineReasons == ["notJSON": sample.quarantined])
        #expect(statistics.byPublisher.values.reduce(0, +) == sample.calls)
        #expect(statistics.byOutcome.values.reduce(0, +) == sample.calls)
        #expect(statistics.byOutcome["pending"] == sample.missingResponses.count)
        #expect(statistics.firstEventTime == sample.firstTime)
        #expect(statistics.lastEventTime == sample.lastTime)
        let storage = try AuditStore(directory: fixture.directory).reader().storage()
        #expect(storage.sealedRecords > 0 && storage.journalRecords > 0)
        #expect(storage.compressionRatio > 3)
    }
}
