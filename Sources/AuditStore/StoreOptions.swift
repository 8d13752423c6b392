// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif

/// How a store writes its logs.
///
/// The defaults suit audit volume (a few thousand notifications a second per partition):
/// a segment holds up to 256 MiB of raw records or one hour, whichever comes first, and
/// blocks hold about 256 KiB of raw records, which zstd decodes in about 0.1 ms.
public struct StoreOptions: Sendable {
    /// Seal the active segment once its journal holds this many bytes.
    public var segmentMaxBytes: Int64 = 256 << 20
    /// Seal the active segment once it is this old (milliseconds, by ``clock``).
    public var segmentMaxAge: Int64 = 3_600_000
    /// Raw bytes of records per compressed block (a block ends at the record that reaches it);
    /// a small share of ``writerMemoryBudget`` lowers it to a quarter of the share, not below 4 KiB.
    /// On keystonemiddleware-shaped traffic (`bench store`), 256 KiB blocks compress
    /// 11.7x and decode in ~0.1 ms, 768 KiB blocks 12.2x in ~0.3 ms.
    public var blockSize: Int = 768 << 10
    /// Records wait this long (in raw bytes) for a block, so a response can join its request
    /// (see ``LogWriter``); at most half of the writer's share of ``writerMemoryBudget``, so
    /// only a store with few open logs uses all of it. On 1M generated notifications
    /// (`bench store`, one log) 8 MiB sealed 12.1x, 32 MiB 12.7x (2026-12-06).
    public var pairWindowBytes: Int = 32 << 20
    /// The memory all open writers of one ``AuditStore`` hold together for records waiting for
    /// their partner, the blocks being filled and dictionary training. Each writer's share is
    /// this divided by the writers open, and caps its pair window (half the share), its block
    /// size and its dictionary training (a quarter each); so a worker that owns many partitions
    /// compresses each a little less instead of holding more.
    public var writerMemoryBudget: Int = 64 << 20
    /// zstd level of the blocks. Level 1 both compresses this traffic smaller than level 3 once
    /// pairs share a block and a dictionary is trained (11.35x vs 11.09x) and runs faster; its
    /// digested dictionary also takes a fifth of level 3's memory per open log.
    public var compressionLevel: Int32 = 1
    /// zstd level of the journal's frames (FORMAT.md §4.1). Frames carry each record's index
    /// fields beside its bytes. On generated keystonemiddleware traffic with a barrier every 4,096
    /// notifications, once frames were grouped by initiator, level 1 took no more disk than level
    /// 3 and appended 10 % faster (`bench store --journal-level`, 2026-12-07: before the seal,
    /// 1/8.44 against 1/8.02 of raw on 100k notifications, 1/8.21 against 1/8.19 on 300k;
    /// 111–121 against 99–109 MB/s per core).
    public var journalCompressionLevel: Int32 = 1
    /// Capacity of the log's zstd dictionary in bytes (0: no dictionary); at most an eighth of
    /// the writer's share of ``writerMemoryBudget``.
    public var dictionaryCapacity: Int = 112 << 10
    /// The log's first segment trains the dictionary on this much raw data (at most a quarter of
    /// the writer's share of ``writerMemoryBudget``).
    public var dictionaryTrainingBytes: Int = 4 << 20
    /// The segment format version written (FORMAT.md §5): 3; the tests write 1 and 2 to check
    /// that earlier segments stay readable.
    var segmentVersion = 3
    /// The index format version written (FORMAT.md §6): 3; the tests write 1 (no request ids)
    /// and 2 (fixed-width columns) to check that earlier indexes stay readable.
    var indexVersion = 3
    /// Version 4 journals: the longest a record waits in the pair window, or in a block being
    /// filled, before a barrier puts it into the journal, in milliseconds. A barrier's resume
    /// offset stays below every waiting record, so this bounds how far the committed offset lags
    /// the consumed one (and what Kafka must still hold to deliver again after a crash).
    public var windowMaxWait: Int64 = 10_000
    /// The journal format version written (FORMAT.md §4): 3. Version 4 (the pair window's blocks,
    /// compressed once, §4.3) is written on request: its resume offset lags by what the window
    /// holds, and a record is read back only once it has left the window, so it is not yet the
    /// default. Version 2 (raw records, the sealed image built beside them) is still written for
    /// the tests of earlier journals; `bench store --journal-version` compares them.
    public var journalVersion = 3
    /// Signs each sealed segment's digest with Ed25519, if set.
    public var signer: SegmentSigner?
    /// Milliseconds since the epoch; tests inject their own.
    public var clock: @Sendable () -> Int64 = {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// The defaults.
    public init() {}
}
