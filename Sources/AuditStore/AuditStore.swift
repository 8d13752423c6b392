// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// A store rooted at a data directory: one log per consumed (topic, partition) at
/// `<data>/<topic>/<partition>/` (DESIGN §5, FORMAT.md).
public struct AuditStore: Sendable {
    /// The data directory.
    public let directory: String
    /// How logs are written.
    public let options: StoreOptions
    /// The memory budget the writers opened from this store share.
    let memory: WriterMemory

    /// A store at `directory` (created 0700 if missing).
    public init(directory: String, options: StoreOptions = StoreOptions()) throws(StoreError) {
        try Directory.create(directory)
        self.directory = directory
        self.options = options
        memory = WriterMemory(budget: options.writerMemoryBudget)
    }

    /// Opens the writer of a log, recovering it.
    ///
    /// - Parameters:
    ///   - takeOver: open even if another writer holds the lock (its epoch is then fenced out).
    /// - Throws: ``StoreError/Code/locked`` when another writer holds the log, ``StoreError/Code/corrupt``
    ///   when the journal does not follow the sealed segments, ``StoreError/Code/io``.
    public func openWriter(topic: String, partition: Int32, takeOver: Bool = false) throws(StoreError) -> LogWriter {
        try LogWriter(data: directory, topic: topic, partition: partition, options: options, memory: memory, takeOver: takeOver)
    }

    /// A reader over every log, as of now.
    public func reader() throws(StoreError) -> StoreReader { try StoreReader(directory: directory) }

    /// What an index row says of a stored notification, without its body.
    public struct IndexedNotification: Sendable, Equatable {
        public var id: String
        public var eventType: NotificationFields.EventType
        public var digest: UInt64
        /// Kafka timestamp, ms (-1: none).
        public var timestamp: Int64
    }

    /// The notifications of one log that were consumed recently, for a worker taking the log
    /// over (its redelivery check): every notification of the log's newest segments, newest
    /// segment first, ending after the first segment whose records all carry a Kafka timestamp
    /// before `sinceTimestamp` (ms). Only this log is opened and only those segments' indexes are
    /// read (no block is decoded), so the cost follows the retention, not the log's history.
    ///
    /// A partition's Kafka timestamps rise with its offsets (a producer's CreateTime nearly so),
    /// so the segments not read hold nothing consumed after `sinceTimestamp`.
    public func recentNotifications(
        topic: String, partition: Int32, sinceTimestamp: Int64, _ body: (IndexedNotification) -> Void
    ) throws(StoreError) {
        let path = LogFiles.logDirectory(data: directory, topic: topic, partition: partition)
        guard Directory.isDirectory(path) else { return }
        let log = try LogView(directory: path, topic: topic, partition: partition)
        for number in stride(from: log.segmentCount - 1, through: 0, by: -1) {
            let index = try log.segment(number).index
            var allOlder = true
            for row in 0..<index.count {
                let timestamp = index.timestamps[row]
                if timestamp < 0 || timestamp >= sinceTimestamp { allOlder = false }
                guard index.kinds[row] == StoreRecord.Kind.notification.rawValue,
                    let eventType = NotificationFields.EventType(rawValue: index.eventTypes[row]),
                    let id = index.ids.value(at: row)
                else { continue }
                body(IndexedNotification(id: id, eventType: eventType, digest: index.digests[row], timestamp: timestamp))
            }
            if allOlder { return }
        }
    }
}
