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
    /// Raw bytes of records per compressed block (a block ends at the record that reaches it).
    public var blockSize: Int = 256 << 10
    /// Records wait this long (in raw bytes) for a block, so a response can join its request
    /// (see ``LogWriter``); the bound on the writer's extra memory.
    public var pairWindowBytes: Int = 8 << 20
    /// zstd level of the blocks.
    public var compressionLevel: Int32 = 3
    /// Capacity of the log's zstd dictionary in bytes (0: no dictionary).
    public var dictionaryCapacity: Int = 112 << 10
    /// The log's first segment trains the dictionary on this much raw data.
    public var dictionaryTrainingBytes: Int = 4 << 20
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
