// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// Parses a whole sealed segment file for the verifier, reporting every problem it meets.
struct SegmentCheck {
    /// The fixed trailer (FORMAT.md §5.3).
    struct Trailer {
        var nextOffset: Int64
        var recordCount: Int
        var blockCount: Int
        var chainHead: [UInt8]
        var indexDigest: [UInt8]
        var digestPosition: Int
        var digest: [UInt8]
        var signed: Bool
        var publicKey: [UInt8]
        var signature: [UInt8]
    }

    /// What the blocks hold.
    struct Blocks {
        var records: [StoreRecord] = []
        var positions: [Int64] = []
        var blockCount = 0
        var chain: [UInt8] = []
        var next: Int64 = 0
        var problems: [(code: VerifyReport.Code, position: Int64?, offset: Int64?, message: String)] = []
    }

    let bytes: [UInt8]
    let trailer: Trailer?
    let headerLength: Int

    init(bytes: [UInt8]) {
        self.bytes = bytes
        trailer = Self.parseTrailer(bytes)
        headerLength =
            bytes.count >= 12 ? bytes.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self))) } : 0
    }

    private static func parseTrailer(_ bytes: [UInt8]) -> Trailer? {
        let length = SegmentWriter.trailerLength
        guard bytes.count >= length, Array(bytes.suffix(8)) == SegmentWriter.finalMagic else { return nil }
        let start = bytes.count - length
        return try? bytes.withBytes { (buffer) throws(StoreError) -> Trailer? in
            var reader = ByteReader(buffer, position: start)
            guard Array(try reader.raw(8)) == SegmentWriter.trailerMagic else { return nil }
            let next = try reader.i64()
            let records = Int(try reader.u64())
            let blocks = Int(try reader.u32())
            let chain = try reader.bytes(32)
            let indexDigest = try reader.bytes(32)
            _ = try reader.i64()
            _ = try reader.i64()
            let digestPosition = reader.position
            let digest = try reader.bytes(32)
            let flag = try reader.u8()
            let publicKey = try reader.bytes(32)
            let signature = try reader.bytes(64)
            // Unsigned segments keep the key and signature zero, so no byte escapes a check.
            guard flag == 1 || (flag == 0 && (publicKey + signature).allSatisfy({ $0 == 0 })) else { return nil }
            let signed = flag == 1
            guard Int(try reader.u32()) == length else { return nil }
            return Trailer(
                nextOffset: next, recordCount: records, blockCount: blocks, chainHead: chain, indexDigest: indexDigest,
                digestPosition: digestPosition, digest: digest, signed: signed, publicKey: publicKey,
                signature: signature)
        }
    }

    /// Walks the blocks between the header and the trailer: chain, decompression, records, offsets.
    mutating func checkBlocks(header: SegmentReader.Header, chain start: [UInt8]) -> Blocks {
        var out = Blocks()
        out.chain = start
        out.next = header.baseOffset
        let end = bytes.count - SegmentWriter.trailerLength
        let codec = ZstdCodec(level: header.level, dictionary: header.dictionary)
        var position = header.length
        let blockHeader = SegmentWriter.blockHeaderLength
        bytes.withUnsafeBytes { buffer in
            while position < end {
                guard position + blockHeader + 32 <= end,
                    Array(buffer[position..<position + 4]) == header.blockMagic
                else {
                    out.problems.append((.alteredBytes, Int64(position), out.next, "no block header"))
                    return
                }
                var reader = ByteReader(buffer, position: position + 4)
                let compressedLength = Int((try? reader.u32()) ?? 0)
                let rawLength = Int((try? reader.u32()) ?? 0)
                let count = Int((try? reader.u32()) ?? 0)
                let first = (try? reader.i64()) ?? 0
                let next = (try? reader.i64()) ?? 0
                let dataStart = position + blockHeader + 32
                guard compressedLength <= end - dataStart else {
                    out.problems.append((.truncated, Int64(position), out.next, "block runs past the trailer"))
                    return
                }
                let head = UnsafeRawBufferPointer(rebasing: buffer[position..<position + blockHeader])
                let data = UnsafeRawBufferPointer(rebasing: buffer[dataStart..<dataStart + compressedLength])
                out.chain = HashChain.link(out.chain, head, data)
                if Array(buffer[(position + blockHeader)..<dataStart]) != out.chain {
                    out.problems.append((.alteredBytes, Int64(position), first, "block hash does not match its chain link"))
                }
                out.positions.append(Int64(position))
                out.blockCount += 1
                let decoded = decodeRecords(
                    codec, data, rawLength: rawLength, count: count, version: header.version, position: position, into: &out)
                if decoded.count > 0 && (decoded.map(\.offset).min() != first || decoded.map(\.nextOffset).max() != next) {
                    out.problems.append((.alteredBytes, Int64(position), first, "block header's offsets \(first)..<\(next) differ from its records'"))
                }
                out.records += decoded
                position = dataStart + compressedLength
            }
        }
        // Blocks keep pairs together, so offsets are contiguous per segment, not per block.
        out.records.sort { $0.offset < $1.offset }
        for record in out.records {
            if record.offset != out.next {
                out.problems.append((.skippedOffset, nil, out.next, "next record is at \(record.offset)"))
            }
            out.next = max(out.next, record.nextOffset)
        }
        return out
    }

    private func decodeRecords(
        _ codec: ZstdCodec, _ data: UnsafeRawBufferPointer, rawLength: Int, count: Int, version: Int, position: Int,
        into out: inout Blocks
    ) -> [StoreRecord] {
        var records: [StoreRecord] = []
        do throws(StoreError) {
            let raw = try BlockCompression.decompress(data, rawLength: rawLength, version: version, with: codec)
            let block = try DecodedBlock(raw, version: version)
            try block.forEachRecord { (record) throws(StoreError) in records.append(record) }
            if records.count != count {
                throw StoreError(.corrupt, "\(records.count) records, header says \(count)")
            }
        } catch {
            out.problems.append((.alteredBytes, Int64(position), nil, "block does not decode: \(error.message)"))
        }
        return records
    }
}
