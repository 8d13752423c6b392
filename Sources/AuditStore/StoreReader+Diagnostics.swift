// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

extension StoreReader {
    /// Decodes up to `limit` sealed blocks, spread over every log, and returns each decode's time
    /// in milliseconds, sorted: the figure behind "a lookup decodes one block" (for `bench store`).
    public func blockDecodeTimes(limit: Int) throws(StoreError) -> [Double] {
        var blocks: [(SegmentReader, Int)] = []
        for log in logs {
            for number in 0..<log.manifest.segments.count {
                guard let segment = try log.segment(number) as? SegmentReader else { continue }
                for block in segment.index.blocks.indices { blocks.append((segment, block)) }
            }
        }
        let stride = max(1, blocks.count / max(1, limit))
        let clock = ContinuousClock()
        var times: [Double] = []
        for i in Swift.stride(from: 0, to: blocks.count, by: stride) {
            let (segment, block) = blocks[i]
            let start = clock.now
            _ = try segment.decodeBlock(block)
            let elapsed = start.duration(to: clock.now).components
            times.append(Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15)
        }
        return times.sorted()
    }
}
