// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

public import AuditArchive
public import AuditStore
public import Kafka

/// Settings of one worker of a consumer group.
public struct WorkerConfiguration: Sendable {
    /// Kafka settings (bootstrap servers, `-X` passthrough); the consumer's safe defaults apply.
    public var kafka: KafkaConfiguration
    /// Source topics, e.g. `notifications.info`.
    public var topics: [String]
    /// Consumer group shared by the workers.
    public var group: String
    /// Data directory shared by the workers of one machine.
    public var dataDirectory: String
    /// The group's internal topic onto which unkeyed notifications are re-keyed by `payload.id`.
    public var byIDTopic: String
    /// Accept a by-id topic whose retention can delete copies before they are stored (the
    /// worker refuses one otherwise). A copy deleted unread is still counted as lost.
    public var allowByIDRetention: Bool
    /// A topic that receives invalid input as well as the store's quarantine, if set.
    public var deadLetterTopic: String?
    /// Segment store settings.
    public var storeOptions: StoreOptions
    /// Messages per batch.
    public var batchSize: Int
    /// How long a poll waits before the worker does periodic work (segment rolls).
    public var idleTick: Duration
    /// The longest appended records wait for their durability barrier (and their offsets for
    /// the commit). One barrier covers every log appended to since the last, so a worker with
    /// many partitions pays one flush per interval instead of one fsync per log per batch.
    /// Zero makes every batch durable before the next poll.
    public var syncInterval: Duration
    /// How long the worker remembers a stored half's digest to recognise a redelivered copy
    /// (and a conflicting one). A copy redelivered later is stored again; the pair view ignores
    /// a second copy with the same bytes. Redeliveries come within a rebalance (the session
    /// timeout) of a crash, so minutes suffice. Memory: about 50 bytes per id seen in this time
    /// (30 MB at 1,000 calls/s for the default 10 minutes).
    public var duplicateRetention: Duration
    /// The object store the logs' sealed segments go to (DESIGN §9), if any: the worker takes
    /// each assigned log's lease there, continues the log from it, uploads each segment as it
    /// seals, writes signed checkpoints, and on a graceful shutdown or a revoke seals and
    /// uploads its active segments before it lets the partitions go.
    public var archive: Archive?
    /// How often the owner of a log writes a signed checkpoint to the object store.
    public var checkpointInterval: Duration
    /// Sealed segments older than this (by record time) are removed from the object store, with
    /// a signed tombstone (`nil`: kept forever).
    public var retention: Duration?

    /// A worker configuration with defaults: by-id topic `<group>.by-id`, batches of 4096, a
    /// durability barrier at least every 200 ms.
    public init(bootstrapServers: String, topics: [String], group: String, dataDirectory: String) {
        self.kafka = KafkaConfiguration(bootstrapServers: bootstrapServers)
        self.topics = topics
        self.group = group
        self.dataDirectory = dataDirectory
        self.byIDTopic = "\(group).by-id"
        self.deadLetterTopic = nil
        self.allowByIDRetention = false
        self.storeOptions = StoreOptions()
        self.batchSize = 4096
        self.idleTick = .milliseconds(500)
        self.syncInterval = .milliseconds(200)
        self.duplicateRetention = .seconds(600)
        self.archive = nil
        self.checkpointInterval = .seconds(300)
        self.retention = nil
    }
}
