// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// The account of every forwarded notification of a store (DESIGN §6.8), from its files alone.
///
/// A notification that leaves its source log for the by-id topic leaves a `forwarded` marker
/// there; its copy is stored in a *hop log* (a log of the by-id topic) with the source position
/// as its ``StoreRecord/origin``, as a notification, a duplicate marker or a quarantined record.
/// The account pairs each marker with a stored copy by that position. A marker without one is:
/// - **in flight** while the hop log has not yet reached the offset the broker gave the copy
///   (``CopyPosition``, from the delivery report): a worker will store it; also when the store
///   holds no log of the copy's topic at all, which it then cannot account for;
/// - **missing** once the hop log is past that offset: the broker deleted the copy before it was
///   stored (the hop log holds a `gap` there), so the notification is lost unless it is fetched
///   again from its source (`audit-trail repair`). A marker written without a copy position
///   (before it was recorded) is missing as soon as no copy is stored.
///
/// Offsets of a source log that Kafka no longer had when the workers reached them (its `gap`
/// records) were never read at all: they are lost too, and counted in ``sourceGapOffsets``.
/// Gaps of hop logs are not counted again: the markers pointing into them are.
public struct HopAccount: Sendable {
    /// A forwarded notification whose copy is not stored.
    public struct Unstored: Sendable, Hashable, CustomStringConvertible {
        /// The source log's topic, partition and offset: where the notification can be fetched again.
        public var topic: String
        public var partition: Int32
        public var offset: Int64
        /// The CADF id it was re-keyed by.
        public var key: String
        /// The by-id topic the copy was written to, and where, if recorded.
        public var copyTopic: String
        public var copy: CopyPosition?
        /// Why it is not stored, for people.
        public var reason: String

        public var description: String {
            let place = copy.map { "\(copyTopic)/\($0.partition) at offset \($0.offset)" } ?? copyTopic
            return "\(topic)/\(partition) offset \(offset) (id \(key)), forwarded to \(place): \(reason)"
        }
    }

    /// Forwarded markers in the store.
    public private(set) var forwarded = 0
    /// Of those, the ones whose copy is stored.
    public private(set) var copiesStored = 0
    /// Markers whose copy a worker has not reached yet.
    public private(set) var inFlight: [Unstored] = []
    /// Markers whose copy will never arrive: lost until `repair` fetches them again.
    public private(set) var missing: [Unstored] = []
    /// Source offsets Kafka no longer had when they were to be read (gaps of logs that are not hop logs).
    public private(set) var sourceGapOffsets: Int64 = 0

    /// Notifications consumed but not stored: missing copies plus source gaps.
    public var lost: Int64 { Int64(missing.count) + sourceGapOffsets }

    /// Reads every record of the store at `directory`.
    ///
    /// - Throws: ``StoreError`` when the store cannot be read (`verify` reports what is damaged).
    public init(directory: String) throws(StoreError) {
        try self.init(reader: try StoreReader(directory: directory))
    }

    /// Reads every record through `reader`.
    public init(reader: StoreReader) throws(StoreError) {
        /// A source position, with its topic as a number of `topics`.
        struct Position: Hashable {
            var topic: Int32
            var partition: Int32
            var offset: Int64
        }
        struct Marker {
            var source: Position
            var key: String
            var copyTopic: String
            var copy: CopyPosition?
        }
        var topics: [String: Int32] = [:]
        var topicNames: [String] = []
        func number(_ topic: String) -> Int32 {
            if let known = topics[topic] { return known }
            topics[topic] = Int32(topicNames.count)
            topicNames.append(topic)
            return Int32(topicNames.count - 1)
        }
        var arrived = Set<Position>()
        var markers: [Marker] = []
        var hopTopics = Set<String>()
        var gaps: [String: Int64] = [:]
        var next: [String: [Int32: Int64]] = [:]
        var query = StoreQuery()
        query.kinds = Set(StoreRecord.Kind.allCases)
        var cursor = reader.cursor(query)
        while let stored = try cursor.next() {
            let record = stored.record
            next[stored.topic, default: [:]][stored.partition] = record.nextOffset
            if let origin = record.origin {
                hopTopics.insert(stored.topic)
                arrived.insert(Position(topic: number(origin.topic), partition: origin.partition, offset: origin.offset))
            }
            switch record.body {
            case .forwarded(let topic, let key, let copy):
                hopTopics.insert(topic)
                markers.append(Marker(
                    source: Position(topic: number(stored.topic), partition: stored.partition, offset: record.offset),
                    key: key, copyTopic: topic, copy: copy))
            case .gap(let to):
                gaps[stored.topic, default: 0] += to - record.offset
            default:
                break
            }
        }
        forwarded = markers.count
        for marker in markers {
            if arrived.contains(marker.source) {
                copiesStored += 1
                continue
            }
            var unstored = Unstored(
                topic: topicNames[Int(marker.source.topic)], partition: marker.source.partition, offset: marker.source.offset,
                key: marker.key, copyTopic: marker.copyTopic, copy: marker.copy, reason: "")
            guard next[marker.copyTopic] != nil else {
                // No log of the copy's topic in this store (a partial copy of a store, or copies
                // no worker of this store consumed yet): they cannot be accounted for here.
                unstored.reason = "no log of \(marker.copyTopic) in this store"
                inFlight.append(unstored)
                continue
            }
            guard let copy = marker.copy else {
                unstored.reason = "no copy with this origin is stored"
                missing.append(unstored)
                continue
            }
            guard let reached = next[marker.copyTopic]?[copy.partition], reached > copy.offset else {
                unstored.reason = "not stored yet: its log has not reached that offset"
                inFlight.append(unstored)
                continue
            }
            unstored.reason = "its copy was not stored (deleted by the broker before a worker read it: a gap)"
            missing.append(unstored)
        }
        sourceGapOffsets = gaps.filter { !hopTopics.contains($0.key) }.values.reduce(0, +)
    }
}
