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
        account(into: &report)
        return report
    }

    /// Every forwarded notification must have its copy stored (DESIGN §6.8): a missing copy is
    /// a finding at its source offset, where `repair` can fetch it again.
    private func account(into report: inout VerifyReport) {
        do {
            let hop = try HopAccount(directory: directory)
            report.forwarded = hop.forwarded
            report.copiesStored = hop.copiesStored
            report.copiesInFlight = hop.inFlight
            for unstored in hop.missing {
                report.findings.append(VerifyReport.Finding(
                    code: .lostForward, topic: unstored.topic, partition: unstored.partition, file: nil, position: nil,
                    offset: unstored.offset, message: unstored.description))
            }
        } catch {
            report.findings.append(VerifyReport.Finding(
                code: .lostForward, topic: "-", partition: -1, file: nil, position: nil, offset: nil,
                message: "forwarded notifications could not be accounted for: \(error)"))
        }
    }
}
