// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

import CZstd

/// zstd compression of blocks, optionally with a dictionary trained on the log's first data.
///
/// One instance per writer or reader: the contexts are not shared between threads.
final class ZstdCodec {
    let level: Int32
    let dictionary: [UInt8]
    private let cctx: OpaquePointer
    private let dctx: OpaquePointer
    private var cdict: OpaquePointer?
    private var ddict: OpaquePointer?

    /// - Parameters:
    ///   - level: zstd compression level.
    ///   - dictionary: a dictionary (empty for none); every block of a segment uses the same one.
    init(level: Int32, dictionary: [UInt8] = []) {
        self.level = level
        self.dictionary = dictionary
        cctx = ZSTD_createCCtx()
        dctx = ZSTD_createDCtx()
        if !dictionary.isEmpty {
            cdict = dictionary.withUnsafeBytes { ZSTD_createCDict($0.baseAddress, $0.count, level) }
            ddict = dictionary.withUnsafeBytes { ZSTD_createDDict($0.baseAddress, $0.count) }
        }
    }

    deinit {
        ZSTD_freeCCtx(cctx)
        ZSTD_freeDCtx(dctx)
        if let cdict { ZSTD_freeCDict(cdict) }
        if let ddict { ZSTD_freeDDict(ddict) }
    }

    /// Compresses `input` into one zstd frame.
    func compress(_ input: UnsafeRawBufferPointer) throws(StoreError) -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var output = [UInt8](repeating: 0, count: bound)
        let written = output.withUnsafeMutableBytes { out in
            if let cdict {
                ZSTD_compress_usingCDict(cctx, out.baseAddress, bound, input.baseAddress, input.count, cdict)
            } else {
                ZSTD_compressCCtx(cctx, out.baseAddress, bound, input.baseAddress, input.count, level)
            }
        }
        try Self.check(written, "ZSTD_compress")
        output.removeLast(bound - written)
        return output
    }

    /// Decompresses one frame whose content is `rawLength` bytes.
    func decompress(_ input: UnsafeRawBufferPointer, rawLength: Int) throws(StoreError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: rawLength)
        let written = output.withUnsafeMutableBytes { out in
            if let ddict {
                ZSTD_decompress_usingDDict(dctx, out.baseAddress, rawLength, input.baseAddress, input.count, ddict)
            } else {
                ZSTD_decompressDCtx(dctx, out.baseAddress, rawLength, input.baseAddress, input.count)
            }
        }
        try Self.check(written, "ZSTD_decompress")
        guard written == rawLength else {
            throw StoreError(.corrupt, "block decompressed to \(written) bytes, header says \(rawLength)")
        }
        return output
    }

    /// Trains a dictionary of at most `capacity` bytes on `samples`; empty when zstd cannot
    /// (too few samples).
    static func trainDictionary(samples: [[UInt8]], capacity: Int) -> [UInt8] {
        guard samples.count >= 8 else { return [] }
        var joined = [UInt8]()
        joined.reserveCapacity(samples.reduce(0) { $0 + $1.count })
        var sizes: [Int] = []
        for sample in samples {
            joined.append(contentsOf: sample)
            sizes.append(sample.count)
        }
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
