// AuditTrail — AuditStore tests
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import AuditTesting
import Foundation
import Testing

/// DESIGN §5: `verify` proves no altered byte, no missing segment, no skipped offset. Every
/// damage here must be reported (100% detection).
@Suite struct TamperTests {
    /// A log of sealed segments only, and the names of its segment and index files in order.
    private func makeLog(signer: SegmentSigner? = nil) throws -> (TemporaryDirectory, [String]) {
        let directory = TemporaryDirectory()
        var options = smallOptions()
        options.signer = signer
        let writer = try AuditStore(directory: directory.path, options: options).openWriter(topic: "t", partition: 0)
        var factory = RecordFactory(seed: 21)
        try writer.append(factory.batch(1000))
        try writer.seal()
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.file("t/0"))
            .filter { $0.hasSuffix(".seg") || $0.hasSuffix(".idx") }.sorted()
        #expect(files.count >= 10)
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
        return (directory, files)
    }

    private func expectDetected(_ directory: TemporaryDirectory, _ what: String, publicKey: [UInt8]? = nil) {
        let report = StoreVerifier(directory: directory.path, publicKey: publicKey).verify()
        if report.isValid { Issue.record("undetected: \(what)") }
    }

    @Test func everyFlippedByteIsReported() throws {
        let (directory, files) = try makeLog()
        var random = SeededRandom(seed: 22)
        for trial in 0..<400 {
            let file = StoreFileHandle(path: directory.file("t/0/" + files[trial % files.count]))
            let position = Int.random(in: 0..<file.size, using: &random)
            let mask = UInt8.random(in: 1...255, using: &random)
            try file.flip(at: position, with: mask)
            expectDetected(directory, "\(file.path) byte \(position) ^ \(mask)")
            try file.flip(at: position, with: mask)
        }
        // Every byte of one segment's header region and trailer, and of one index's ends.
        for name in files.prefix(2) {
            let file = StoreFileHandle(path: directory.file("t/0/" + name))
            let size = file.size
            for position in Array(0..<min(size, 300)) + Array(max(0, size - 300)..<size) {
                try file.flip(at: position, with: 0x01)
                expectDetected(directory, "\(name) byte \(position)")
                try file.flip(at: position, with: 0x01)
            }
        }
        #expect(StoreVerifier(directory: directory.path).verify().isValid)
    }

    @Test func flippedBytesOfSignedSegmentsFailTheSignature() throws {
        let signer = SegmentSigner.generate()
        let (directory, files) = try makeLog(signer: signer)
        let file = StoreFileHandle(path: directory.file("t/0/" + files.first { $0.hasSuffix(".seg") }!))
        try file.flip(at: file.size - 20, with: 0x80)
        let report = StoreVerifier(directory: directory.path, publicKey: signer.publicKey).verify()
        #expect(report.findings.contains { $0.code == .badSignature })
    }

    @Test func truncatedFilesAreReported() throws {
        let (directory, files) = try makeLog()
        var random = SeededRandom(seed: 23)
        for name in files {
            let path = directory.file("t/0/" + name)
            let original = try Data(contentsOf: URL(fileURLWithPath: path))
            for length in [0, 1, original.count - 1, Int.random(in: 0..<original.count, using: &random)] {
                try StoreFileHandle(path: path).truncate(to: length)
                expectDetected(directory, "\(name) truncated to \(length)")
                try original.write(to: URL(fileURLWithPath: path))
            }
        }
    }

    @Test func deletedDuplicatedAndReorderedSegmentsAreReported() throws {
        let (directory, files) = try makeLog()
        let log = directory.file("t/0/")
        let segments = files.filter { $0.hasSuffix(".seg") }.map { String($0.dropLast(4)) }
        let manager = FileManager.default
        func snapshot() throws -> [String: Data] {
            try Dictionary(uniqueKeysWithValues: manager.contentsOfDirectory(atPath: log).map {
                ($0, try Data(contentsOf: URL(fileURLWithPath: log + $0)))
            })
        }
        let original = try snapshot()
        let anchor = StoreVerifier(directory: directory.path).verify().heads
        func restore() throws {
            for name in try manager.contentsOfDirectory(atPath: log) { try manager.removeItem(atPath: log + name) }
            for (name, data) in original { try data.write(to: URL(fileURLWithPath: log + name)) }
            #expect(StoreVerifier(directory: directory.path).verify().isValid)
        }
        for (i, base) in segments.enumerated() {
            for suffix in [".seg", ".idx"] {
                try manager.removeItem(atPath: log + base + suffix)
                expectDetected(directory, "deleted \(base)\(suffix)")
                try restore()
            }
            // Deleted together with its manifest entry (a forger's edit): the chain breaks.
            try manager.removeItem(atPath: log + base + ".seg")
            try manager.removeItem(atPath: log + base + ".idx")
            try removeManifestEntry(log + "MANIFEST", index: i)
            if i == segments.count - 1 {
                // The newest segment and its entry: consistent on its own, shorter than the anchor.
                #expect(StoreVerifier(directory: directory.path).verify().heads != anchor)
            } else {
                expectDetected(directory, "deleted \(base) and its manifest entry")
            }
            try restore()
            let other = segments[(i + 1) % segments.count]
            // Duplicated: another segment's files copied over this one's.
            for suffix in [".seg", ".idx"] {
                try original[other + suffix]!.write(to: URL(fileURLWithPath: log + base + suffix))
            }
            expectDetected(directory, "\(other) duplicated over \(base)")
            try restore()
            // Reordered: two segments swapped.
            for suffix in [".seg", ".idx"] {
                try original[other + suffix]!.write(to: URL(fileURLWithPath: log + base + suffix))
                try original[base + suffix]!.write(to: URL(fileURLWithPath: log + other + suffix))
            }
            expectDetected(directory, "\(base) swapped with \(other)")
            try restore()
            // Duplicated under a new name.
            try original[base + ".seg"]!.write(to: URL(fileURLWithPath: log + "99999999999999999999.seg"))
            expectDetected(directory, "\(base) copied to a new name")
            try restore()
        }
    }

    private func removeManifestEntry(_ path: String, index: Int) throws {
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        var segments = manifest["segments"] as! [Any]
        segments.remove(at: index)
        manifest["segments"] = segments
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: path))
    }
}
