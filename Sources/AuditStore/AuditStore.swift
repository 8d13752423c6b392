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
}
