// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

/// Verifies a data directory from its files alone (DESIGN §5): every byte against its digests,
/// the SHA-256 chain across blocks, segments and the journal, the manifest against the
/// segments, each index against its segment, contiguous source offsets, and signatures.
public struct StoreVerifier: Sendable {
    /// The data directory.
    public var directory: String
    /// Ed25519 public key that signed the segments; when set, every sealed segment must carry
    /// a valid signature by it.
    public var publicKey: [UInt8]?

    /// A verifier for `directory`.
    public init(directory: String, publicKey: [UInt8]? = nil) {
        self.directory = directory
        self.publicKey = publicKey
    }

    /// Checks every log; never throws: what cannot be read is a finding.
    public func verify() -> VerifyReport {
        var report = VerifyReport()
        for topic in (try? Directory.list(directory)) ?? [] where Directory.isDirectory(directory + "/" + topic) {
            for name in (try? Directory.list(directory + "/" + topic)) ?? [] {
                guard let partition = Int32(name) else { continue }
                var log = LogVerification(
                    directory: LogFiles.logDirectory(data: directory, topic: topic, partition: partition),
                    topic: topic, partition: partition, publicKey: publicKey)
                log.run(into: &report)
                report.logs += 1
            }
        }
        return report
    }
}
