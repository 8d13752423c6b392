// AuditTrail — read side
// SPDX-License-Identifier: Apache-2.0

public import AuditStore

/// One condition on a call of the pair view; ``negated`` turns it into its opposite.
///
/// A call's attributes (initiator, project, action, target, publisher, path) are its request's,
/// or its response's when only the response is stored; outcome and status are the response's.
/// A condition on an attribute the call lacks is false (so its negation is true).
public struct CallFilter: Sendable, Hashable, CustomStringConvertible {
    /// What is tested.
    public enum Condition: Sendable, Hashable {
        /// The CADF id.
        case id(String)
        /// `eventTime` at or after this instant (µs since the epoch).
        case since(Int64)
        /// `eventTime` before this instant (µs since the epoch).
        case until(Int64)
        /// `initiator.id` or `initiator.name`.
        case initiator(String)
        /// `initiator.project_id`.
        case project(String)
        /// CADF action prefix (`update` matches `update/addresses`).
        case actionPrefix(String)
        /// Outcome: `success`, `failure`, `unknown`, or `pending` when no response is stored.
        case outcome(String)
        /// HTTP status of the response.
        case status(Int)
        /// `target.typeURI`.
        case targetType(String)
        /// `target.id`.
        case target(String)
        /// oslo `publisher_id`.
        case publisher(String)
        /// `requestPath` prefix.
        case pathPrefix(String)
        /// `initiator.request_id`.
        case requestID(String)
        /// `initiator.global_request_id`.
        case globalRequestID(String)
        /// Orphans only (a single half older than the correlation window).
        case orphan
    }

    /// The condition.
    public var condition: Condition
    /// Whether the call must *not* satisfy it.
    public var negated: Bool

    /// A condition, or its negation.
    public init(_ condition: Condition, negated: Bool = false) {
        self.condition = condition
        self.negated = negated
    }

    /// Whether `call` passes this filter.
    public func matches(_ call: Trail.Call) -> Bool { holds(for: call) != negated }

    // Reads `call.fields` in place in each case: binding it to a local would copy every string.
    private func holds(for call: Trail.Call) -> Bool {
        switch condition {
        case .id(let id): return call.id == id
        case .since(let time): return call.eventTime.map { $0 >= time } ?? false
        case .until(let time): return call.eventTime.map { $0 < time } ?? false
        case .initiator(let who): return call.fields?.initiatorId == who || call.fields?.initiatorName == who
        case .project(let project): return call.fields?.projectId == project
        case .actionPrefix(let prefix): return call.fields?.action?.hasPrefix(prefix) ?? false
        case .outcome(let outcome): return call.outcome == outcome
        case .status(let status): return call.status == status
        case .targetType(let type): return call.fields?.targetTypeURI == type
        case .target(let target): return call.fields?.targetId == target
        case .publisher(let publisher): return call.fields?.publisher == publisher
        case .pathPrefix(let prefix): return call.fields?.requestPath?.hasPrefix(prefix) ?? false
        case .requestID(let id): return call.fields?.requestIDsRecorded == true && call.fields?.requestId == id
        case .globalRequestID(let id):
            return call.fields?.requestIDsRecorded == true && call.fields?.globalRequestId == id
        case .orphan: return call.state.isOrphan
        }
    }

    /// The filter as the command line spells it (`outcome=failure`, `not status=404`).
    public var description: String {
        let text: String
        switch condition {
        case .id(let id): text = "id=\(id)"
        case .since(let time): text = "since=\(time)µs"
        case .until(let time): text = "until=\(time)µs"
        case .initiator(let who): text = "initiator=\(who)"
        case .project(let project): text = "project=\(project)"
        case .actionPrefix(let prefix): text = "action=\(prefix)"
        case .outcome(let outcome): text = "outcome=\(outcome)"
        case .status(let status): text = "status=\(status)"
        case .targetType(let type): text = "target-type=\(type)"
        case .target(let target): text = "target=\(target)"
        case .publisher(let publisher): text = "publisher=\(publisher)"
        case .pathPrefix(let prefix): text = "path=\(prefix)"
        case .requestID(let id): text = "request-id=\(id)"
        case .globalRequestID(let id): text = "global-request-id=\(id)"
        case .orphan: text = "orphans"
        }
        return negated ? "not " + text : text
    }
}

/// Filters, order and paging over the calls of a ``Trail``.
///
/// Paging is by cursor: a page ends with the cursor of its last call, and the next page holds
/// the calls that sort after it (by the sort key, then the id), so no page is capped by
/// anything but ``limit`` and pages do not shift when calls are added before the cursor.
public struct CallQuery: Sendable {
    /// What calls are ordered by.
    public enum SortKey: String, Sendable, CaseIterable {
        case time, latency, status, id, action, initiator, outcome, publisher, path
    }

    /// Every filter must pass (a conjunction).
    public var filters: [CallFilter] = []
    /// The order of the results; ties are broken by id.
    public var sort: SortKey = .time
    /// Largest first.
    public var descending = false
    /// Calls per page; `nil` for all.
    public var limit: Int?
    /// Resume after this cursor (from ``Page/next``).
    public var after: String?

    /// Every call, oldest first.
    public init() {}

    /// One page of results.
    public struct Page: Sendable {
        /// The matching calls of this page, in order.
        public var calls: [Trail.Call]
        /// The cursor of the next page, or `nil` when this page is the last.
        public var next: String?
    }

    /// Whether `call` passes every filter.
    public func matches(_ call: Trail.Call) -> Bool { filters.allSatisfy { $0.matches(call) } }

    /// The page of `calls` this query selects.
    /// - Throws: ``CursorError`` for a cursor that is not one of this query's.
    public func page(of calls: [Trail.Call]) throws(CursorError) -> Page {
        // Sort positions, not calls: a call is a large value, and moving it costs a retain per
        // string it holds (sorting the calls themselves was most of a large query's time).
        let selected = calls.indices.filter { matches(calls[$0]) }
        let positions = selected.map { (key: Self.key(of: calls[$0], sort), id: calls[$0].id) }
        var order = Array(positions.indices)
        order.sort { descending ? Self.before(positions[$1], positions[$0]) : Self.before(positions[$0], positions[$1]) }
        var start = 0
        if let after {
            guard let cursor = Cursor(after), cursor.sort == sort else { throw CursorError(cursor: after) }
            let position = (key: cursor.key, id: cursor.id)
            start = order.partitioningIndex {
                descending ? Self.before(positions[$0], position) : Self.before(position, positions[$0])
            }
        }
        let end = limit.map { min(order.count, start + max(0, $0)) } ?? order.count
        let page = order[start..<end]
        let next = end < order.count ? page.last.map { Cursor(sort: sort, key: positions[$0].key, id: positions[$0].id).text } : nil
        return Page(calls: page.map { calls[selected[$0]] }, next: next)
    }

    /// The page of `trail`'s calls this query selects: ``page(of:)-([Trail.Call])`` over
    /// `trail.calls`, the same calls and cursors. In time order (the default) it walks the calls
    /// the trail holds in that order from the cursor on and stops once the page is full, so a
    /// page costs what it scans, not what the trail holds.
    public func page(of trail: Trail) throws(CursorError) -> Page {
        guard sort == .time else { return try page(of: trail.calls) }
        let calls = trail.calls
        func position(_ call: Trail.Call) -> (key: Key, id: String) { (Self.key(of: call, .time), call.id) }
        // `calls` are in ascending (time, id) order: the first call past the cursor in the walk's
        // direction is found by binary search.
        var index = descending ? calls.count - 1 : 0
        if let after {
            guard let cursor = Cursor(after), cursor.sort == sort else { throw CursorError(cursor: after) }
            let mark = (key: cursor.key, id: cursor.id)
            index = descending
                ? calls.partitioningIndex { !Self.before(position($0), mark) } - 1  // the last before the mark
                : calls.partitioningIndex { Self.before(mark, position($0)) }  // the first after it
        }
        var selected: [Trail.Call] = []
        var more = false
        while descending ? index >= 0 : index < calls.count {
            if matches(calls[index]) {
                if let limit, selected.count >= limit {
                    more = true
                    break
                }
                selected.append(calls[index])
            }
            index += descending ? -1 : 1
        }
        let next = more ? selected.last.map { Cursor(sort: sort, key: position($0).key, id: $0.id).text } : nil
        return Page(calls: selected, next: next)
    }

    /// A cursor that does not belong to the query.
    public struct CursorError: Error, CustomStringConvertible {
        /// The cursor given.
        public var cursor: String
        public var description: String { "not a cursor of this query's sort order: \(cursor)" }
    }

    // MARK: Order

    /// A sort value: absent values sort first.
    enum Key: Comparable, Sendable {
        case absent
        case number(Double)
        case text(String)
    }

    static func key(of call: Trail.Call, _ sort: SortKey) -> Key {
        func text(_ value: String?) -> Key { value.map(Key.text) ?? .absent }
        func number<T: BinaryInteger>(_ value: T?) -> Key { value.map { .number(Double($0)) } ?? .absent }
        switch sort {
        case .time: return number(call.eventTime)
        case .latency: return call.latencyMilliseconds.map(Key.number) ?? .absent
        case .status: return number(call.status)
        case .id: return .text(call.id)
        case .action: return text(call.fields?.action)
        case .initiator: return text(call.fields?.initiatorName ?? call.fields?.initiatorId)
        case .outcome: return .text(call.outcome)
        case .publisher: return text(call.fields?.publisher)
        case .path: return text(call.fields?.requestPath)
        }
    }

    private static func before(_ a: (key: Key, id: String), _ b: (key: Key, id: String)) -> Bool {
        a.key != b.key ? a.key < b.key : a.id < b.id
    }

    /// A position in an order: the sort, and the last call's key and id, as printable text.
    struct Cursor {
        var sort: SortKey
        var key: Key
        var id: String

        init(sort: SortKey, key: Key, id: String) {
            self.sort = sort
            self.key = key
            self.id = id
        }

        /// `<sort>~<a|n|s><value>~<id>`, hex-encoded so it survives any shell.
        var text: String {
            let value: String
            switch key {
            case .absent: value = "a"
            case .number(let number): value = "n\(number)"
            case .text(let text): value = "s" + text
            }
            return Array("\(sort.rawValue)\u{1F}\(value)\u{1F}\(id)".utf8).map { byte in
                let digits = Array("0123456789abcdef".utf8)
                return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
            }.joined()
        }

        init?(_ text: String) {
            let hex = Array(text.utf8)
            guard hex.count % 2 == 0 else { return nil }
            var bytes: [UInt8] = []
            for i in stride(from: 0, to: hex.count, by: 2) {
                guard let byte = UInt8(String(decoding: hex[i...i + 1], as: UTF8.self), radix: 16) else { return nil }
                bytes.append(byte)
            }
            let parts = String(decoding: bytes, as: UTF8.self).split(separator: "\u{1F}", omittingEmptySubsequences: false)
            guard parts.count == 3, let sort = SortKey(rawValue: String(parts[0])), let tag = parts[1].first else { return nil }
            let value = String(parts[1].dropFirst())
            switch tag {
            case "a": key = .absent
            case "n":
                guard let number = Double(value) else { return nil }
                key = .number(number)
            case "s": key = .text(value)
            default: return nil
            }
            self.sort = sort
            id = String(parts[2])
        }
    }
}

extension Array {
    /// The first index whose element satisfies `predicate`, for a predicate that is false then
    /// true along the array (binary search).
    fileprivate func partitioningIndex(where predicate: (Element) -> Bool) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if predicate(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
