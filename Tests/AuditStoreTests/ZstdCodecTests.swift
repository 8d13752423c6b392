// AuditTrail — AuditStore tests
// SPDX-License-Identifier: Apache-2.0

import AuditTesting
import Testing

@testable import AuditStore

/// zstd with a log's dictionary, at the levels of the journal's frames (3) and of sealed blocks
/// (1), through a codec's own context or one that the writers of a store share.
@Suite struct ZstdCodecTests {
    /// Notifications laid end to end, and a dictionary trained on their first 2,000.
    private static let corpus: (bytes: [UInt8], dictionary: [UInt8]) = {
        var generator = SyntheticNotifications(seed: 11)
        let notifications = generator.next(3_000)
        let training = notifications.prefix(2_000)
        let dictionary = ZstdCodec.trainDictionary(
            joined: training.flatMap(\.bytes), sizes: training.map(\.bytes.count), capacity: 64 << 10)
        return (notifications.suffix(1_000).flatMap(\.bytes), dictionary)
    }()

    private func compress(_ input: ArraySlice<UInt8>, _ codec: ZstdCodec) throws -> [UInt8] {
        try Array(input).withUnsafeBytes { (raw) throws(StoreError) in try codec.compress(raw) }
    }

    @Test(arguments: [(Int32(1), 19_000), (1, 300_000), (3, 19_000), (3, 300_000)])
    func framesRoundTripWithTheDictionaryAndOwnOrSharedContexts(level: Int32, size: Int) throws {
        let (bytes, dictionary) = Self.corpus
        #expect(!dictionary.isEmpty)
        let input = bytes.prefix(size)
        let own = ZstdCodec(level: level, dictionary: dictionary)
        let compressed = try compress(input, own)
        #expect(compressed.count * 4 < input.count)
        let decoded = try compressed.withUnsafeBytes { (raw) throws(StoreError) in
            try ZstdCodec(level: level, dictionary: dictionary).decompress(raw, rawLength: input.count)
        }
        #expect(decoded == Array(input))
        // Through one shared context, between codecs with and without a dictionary, each codec's
        // output is what its own context makes: the context keeps nothing of the previous call.
        let shared = CompressionContext(count: 1)
        let sharing = ZstdCodec(level: level, dictionary: dictionary, context: shared)
        let plain = ZstdCodec(level: level, context: shared)
        let plainAlone = try compress(input, ZstdCodec(level: level))
        for _ in 0..<2 {
            #expect(try compress(input, sharing) == compressed)
            #expect(try compress(input, plain) == plainAlone)
        }
        #expect(compressed.count < plainAlone.count)
    }
}
