// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import Foundation

/// The release build of `audit-trail` a bench runs: `path` (its `--audit-trail`),
/// `$AUDIT_TRAIL_BIN`, or the main package's `.build/release/audit-trail`, found from this
/// executable's directory upwards (this package builds under `Benchmarks/.build`). A debug build
/// is never picked silently.
func releaseAuditTrail(_ path: String?) throws -> URL {
    if let path = path ?? ProcessInfo.processInfo.environment["AUDIT_TRAIL_BIN"] {
        guard FileManager.default.isExecutableFile(atPath: path) else { throw ValidationError("not an executable: \(path)") }
        return URL(fileURLWithPath: path)
    }
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    while directory.path != "/" {
        let candidate = directory.appendingPathComponent(".build/release/audit-trail")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    throw ValidationError(
        "no release build of audit-trail found: run `swift build -c release --product audit-trail` in the main package, or pass --audit-trail PATH")
}
