// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

import CZstd
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// zstd compression of blocks, optionally with a dictionary trained on the log's first data.
///
/// One instance per writer or reader: the contexts are not shared between threads. Each
/// direction's context and digested dictionary are made on first use, so a writer, which only
/// compresses, never holds a decompression context (and a reader no compression context).
final class ZstdCodec {
    let level: Int32
    let dictionary: [UInt8]
    private let shared: CompressionContext?
    private var cctx: OpaquePointer?
    private var dctx: OpaquePointer?
    private var cdict: OpaquePointer?
    private var ddict: OpaquePointer?

    /// - Parameters:
    ///   - level: zstd compression level.
    ///   - dictionary: a dictionary (empty for none); every block of a segment uses the same one.
    ///   - context: a compression context shared with other codecs, instead of one of its own.
    init(level: Int32, dictionary: [UInt8] = [], context: CompressionContext? = nil) {
        self.level = level
        self.dictionary = dictionary
        self.shared = context
    }

    deinit {
        if let cctx { ZSTD_freeCCtx(cctx) }
        if let dctx { ZSTD_freeDCtx(dctx) }
        if let cdict { ZSTD_freeCDict(cdict) }
        if let ddict { ZSTD_freeDDict(ddict) }
    }

    /// Compresses `input` into one zstd frame; with `dictionary` false, without the dictionary
    /// and at `level` (the codec's level if `nil`).
    func compress(_ input: UnsafeRawBufferPointer, dictionary: Bool = true, level: Int32? = nil) throws(StoreError)
        -> [UInt8]
    {
        let level = level ?? self.level
        if let shared {
            return try shared.withContext { (cctx) throws(StoreError) in
                try compress(input, with: cctx, dictionary: dictionary, level: level)
            }
        }
        let cctx = self.cctx ?? ZSTD_createCCtx()!
        self.cctx = cctx
        return try compress(input, with: cctx, dictionary: dictionary, level: level)
    }

    private func compress(_ input: UnsafeRawBufferPointer, with cctx: OpaquePointer, dictionary useDictionary: Bool, level: Int32)
        throws(StoreError) -> [UInt8]
    {
        if useDictionary && cdict == nil && !dictionary.isEmpty {
            cdict = dictionary.withUnsafeBytes { ZSTD_createCDict($0.baseAddress, $0.count, self.level) }
        }
        let cdict = useDictionary ? cdict : nil
        let bound = ZSTD_compressBound(input.count)
        let (output, written) = Self.filled(capacity: bound) { out in
            if let cdict {
                ZSTD_compress_usingCDict(cctx, out, bound, input.baseAddress, input.count, cdict)
            } else {
                ZSTD_compressCCtx(cctx, out, bound, input.baseAddress, input.count, level)
            }
        }
        try Self.check(written, "ZSTD_compress")
        return output
    }

    /// An array of at most `capacity` bytes that `zstd` writes into (given where), and zstd's
    /// result: the bytes written, or an error code (the array is then empty). The array is not
    /// zeroed first: a compression bound is about ten times what zstd writes into it (8 MiB for
    /// a journal frame of 8 MiB), and zeroing it would touch every page of it for nothing.
    private static func filled(capacity: Int, _ zstd: (UnsafeMutableRawPointer?) -> Int) -> (bytes: [UInt8], result: Int) {
        var result = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { out, count in
            result = zstd(out.baseAddress)
            count = ZSTD_isError(result) != 0 ? 0 : result
        }
        return (bytes, result)
    }

    /// Decompresses one frame whose content is `rawLength` bytes.
    func decompress(_ input: UnsafeRawBufferPointer, rawLength: Int) throws(StoreError) -> [UInt8] {
        try Self.written(rawLength) { (out) throws(StoreError) in try decompress(input, into: out) }
    }

    /// `count` bytes that `write` fills whole (not zeroed first), or its error.
    static func written(_ count: Int, _ write: (UnsafeMutableRawBufferPointer) throws(StoreError) -> Void)
        throws(StoreError) -> [UInt8]
    {
        var failure: StoreError?
        let output = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            do throws(StoreError) {
                try write(UnsafeMutableRawBufferPointer(out))
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return output
    }

    /// Decompresses one frame whose content fills `output` exactly; with `dictionary` false, a
    /// frame compressed without the dictionary.
    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, dictionary: Bool = true)
        throws(StoreError)
    {
        let (dctx, ddict) = decompressionContext()
        let written =
            if let ddict, dictionary {
                ZSTD_decompress_usingDDict(dctx, output.baseAddress, output.count, input.baseAddress, input.count, ddict)
            } else {
                ZSTD_decompressDCtx(dctx, output.baseAddress, output.count, input.baseAddress, input.count)
            }
        try Self.check(written, "ZSTD_decompress")
        guard written == output.count else {
            throw StoreError(.corrupt, "block decompressed to \(written) bytes, header says \(output.count)")
        }
    }

    /// Decompresses one frame whose content is `rawLength` bytes only as far as needed: after
    /// each of zstd's blocks (at most 128 KiB) `needed` gets the bytes decoded so far and
    /// returns how many are needed in all, or `nil` while it cannot tell yet. A lookup needs a
    /// pair of records somewhere in a block: on average it decodes half of it.
    ///
    /// - Parameters:
    ///   - start: where the frame's content starts in the output; `prefill` writes the bytes
    ///     before it (a version 3 block's heads, ``BlockCompression``).
    /// - Returns: `rawLength` bytes, of which the first `decoded` are the frame's.
    func decompressPrefix(
        _ input: UnsafeRawBufferPointer, rawLength: Int, start: Int = 0,
        prefill: (UnsafeMutableRawBufferPointer) throws(StoreError) -> Void = { _ in },
        needed: (UnsafeRawBufferPointer) throws(StoreError) -> Int?
    ) throws(StoreError) -> (bytes: [UInt8], decoded: Int) {
        let (dctx, ddict) = decompressionContext()
        var output = [UInt8](repeating: 0, count: rawLength)
        var decoded = start
        try output.withMutableBytes { (out) throws(StoreError) in
            try prefill(UnsafeMutableRawBufferPointer(rebasing: out[..<start]))
            // zstd's buffer-less API: each call takes exactly the input zstd asks for next and
            // writes a whole block right after the previous ones, which it matches against.
            try Self.check(ZSTD_decompressBegin_usingDDict(dctx, ddict), "ZSTD_decompressBegin_usingDDict")
            var consumed = 0
            var target: Int?
            while true {
                let next = ZSTD_nextSrcSizeToDecompress(dctx)
                if next == 0 { break }
                guard next <= input.count - consumed else {
                    throw StoreError(.corrupt, "block ends after \(decoded) of \(rawLength) bytes")
                }
                let written = ZSTD_decompressContinue(
                    dctx, out.baseAddress! + decoded, rawLength - decoded, input.baseAddress! + consumed, next)
                try Self.check(written, "ZSTD_decompressContinue")
                consumed += next
                decoded += written
                guard written > 0 else { continue }
                if target == nil { target = try needed(UnsafeRawBufferPointer(rebasing: out[..<decoded])) }
                if let target, decoded >= target { break }
            }
        }
        return (output, decoded)
    }

    /// The decompression context and digested dictionary (`nil`: none), made on first use.
    private func decompressionContext() -> (OpaquePointer, OpaquePointer?) {
        let dctx = self.dctx ?? ZSTD_createDCtx()!
        self.dctx = dctx
        if ddict == nil && !dictionary.isEmpty {
            ddict = dictionary.withUnsafeBytes { ZSTD_createDDict($0.baseAddress, $0.count) }
        }
        return (dctx, ddict)
    }

    /// Trains a dictionary of at most `capacity` bytes on samples laid end to end in `joined`
    /// (`sizes` in order); empty when zstd cannot (too few samples).
    static func trainDictionary(joined: [UInt8], sizes: [Int], capacity: Int) -> [UInt8] {
        guard sizes.count >= 8 else { return [] }
        var dictionary = [UInt8](repeating: 0, count: capacity)
        let size = dictionary.withUnsafeMutableBytes { out in
            joined.withUnsafeBytes { input in
                ZDICT_trainFromBuffer(out.baseAddress, capacity, input.baseAddress, sizes, UInt32(sizes.count))
            }
        }
        if ZDICT_isError(size) != 0 { return [] }
        dictionary.removeLast(capacity - size)
        return dictionary
    }

    private static func check(_ result: Int, _ function: String) throws(StoreError) {
        if ZSTD_isError(result) != 0 {
            throw StoreError(.compression, "\(function): \(String(cString: ZSTD_getErrorName(result)))")
        }
    }
}

/// The zstd compression contexts that the writers of one store take turns with: one per core
/// (about 0.6 MB each at level 1, 1.3 MB at level 3) instead of one per open log, so that logs
/// appended on several threads at once (a worker's batch) each find a free one.
final class CompressionContext: @unchecked Sendable {
    /// A context and whether a caller holds it; a context is used only by the caller that set
    /// `busy` from false to true.
    private final class Slot: @unchecked Sendable {
        let cctx = ZSTD_createCCtx()!
        let busy = Atomic<Bool>(false)

        deinit { ZSTD_freeCCtx(cctx) }
    }

    private let slots: [Slot]

    init(count: Int = CompressionContext.cores) { slots = (0..<max(1, count)).map { _ in Slot() } }

    /// Online processors, at most 8.
    static var cores: Int { max(1, min(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 8)) }

    func withContext<R>(_ body: (OpaquePointer) throws(StoreError) -> R) throws(StoreError) -> R {
        while true {
            for slot in slots where slot.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
                defer { slot.busy.store(false, ordering: .releasing) }
                return try body(slot.cctx)
            }
            // More threads compress at once than there are cores: one finishes within a block.
            sched_yield()
        }
    }
}
