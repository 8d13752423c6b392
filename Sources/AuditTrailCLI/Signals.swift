// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import Dispatch
import Foundation

/// Waits for SIGINT or SIGTERM without blocking a thread of the cooperative pool.
enum Signals {
    /// Suspends until the process receives SIGINT or SIGTERM (returns the signal's name) or the
    /// task is cancelled (returns "cancelled").
    static func waitForTermination() async -> String {
        let box = OnceBox()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                box.set(continuation)
                for sig in [SIGINT, SIGTERM] {
                    signal(sig, SIG_IGN)
                    let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                    source.setEventHandler { box.resume(sig == SIGINT ? "SIGINT" : "SIGTERM") }
                    source.resume()
                    box.keep(source)
                }
            }
        } onCancel: {
            box.resume("cancelled")
        }
    }
}

/// Resumes a continuation at most once and keeps the signal sources alive.
private final class OnceBox: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<String, Never>?
    private var resumedWith: String?
    private var sources: [any DispatchSourceSignal] = []

    func set(_ continuation: CheckedContinuation<String, Never>) {
        let early = lock.withLock { () -> String? in
            if let resumedWith { return resumedWith }
            self.continuation = continuation
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    func keep(_ source: any DispatchSourceSignal) {
        lock.withLock { sources.append(source) }
    }

    func resume(_ name: String) {
        let c = lock.withLock { () -> CheckedContinuation<String, Never>? in
            if resumedWith == nil { resumedWith = name }
            defer { continuation = nil }
            return continuation
        }
        c?.resume(returning: name)
    }
}
