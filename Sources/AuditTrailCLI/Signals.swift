// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import Dispatch
import Foundation

/// Waits for SIGINT or SIGTERM without blocking a thread of the cooperative pool.
enum Signals {
    /// Suspends until the process receives SIGINT or SIGTERM; returns the signal's name.
    static func waitForTermination() async -> String {
        await withCheckedContinuation { continuation in
            let box = OnceBox(continuation)
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { box.resume(sig == SIGINT ? "SIGINT" : "SIGTERM") }
                source.resume()
                box.keep(source)
            }
        }
    }
}

/// Resumes a continuation at most once and keeps the signal sources alive.
private final class OnceBox: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<String, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<String, Never>) { self.continuation = continuation }

    func keep(_ source: any DispatchSourceSignal) {
        lock.withLock { sources.append(source) }
    }

    func resume(_ name: String) {
        let c = lock.withLock { () -> CheckedContinuation<String, Never>? in
            defer { continuation = nil }
            return continuation
        }
        c?.resume(returning: name)
    }
}
