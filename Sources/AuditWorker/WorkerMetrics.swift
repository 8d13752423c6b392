// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import Synchronization

/// The worker's counters, rendered in Prometheus' text format for `/metrics`.
public final class WorkerMetrics: Sendable {
    private struct State {
        var counters: [String: Int] = [:]
        var labelled: [String: [String: Int]] = [:]
        var gauges: [String: [String: Int64]] = [:]
        var fsyncBuckets = [Int](repeating: 0, count: WorkerMetrics.fsyncBuckets.count)
        var fsyncCount = 0
        var fsyncSum = 0.0
        var phaseSeconds: [String: Double] = [:]
    }
    private let state = Mutex(State())
    private let observers = Mutex<[@Sendable () -> Void]>([])
    private static let fsyncBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]

    public init() {}

    /// Adds to a counter (`audit_<name>_total`).
    public func add(_ name: String, _ value: Int = 1) {
        state.withLock { $0.counters[name, default: 0] += value }
    }

    /// Adds to a counter with one label value (e.g. quarantine reasons).
    public func add(_ name: String, label: String, _ value: Int = 1) {
        state.withLock { $0.labelled[name, default: [:]][label, default: 0] += value }
    }

    /// Sets a gauge for a label value (e.g. lag per partition).
    public func set(_ name: String, label: String, _ value: Int64) {
        state.withLock { $0.gauges[name, default: [:]][label] = value }
    }

    /// Records one fsync barrier's duration.
    public func observeFsync(seconds: Double) {
        state.withLock { state in
            state.fsyncCount += 1
            state.fsyncSum += seconds
            for (i, bound) in Self.fsyncBuckets.enumerated() where seconds <= bound { state.fsyncBuckets[i] += 1 }
        }
    }

    /// Adds to the time the worker's loop spent in one of its phases
    /// (`audit_worker_seconds_total{phase}`: poll, decode, plan, forward, append, barrier,
    /// rebalance): whether a worker waits for Kafka, decodes, stores or waits for the disk.
    public func addTime(_ phase: String, _ duration: Duration) {
        state.withLock { $0.phaseSeconds[phase, default: 0] += duration.inSeconds }
    }

    /// Seconds the loop spent in each phase so far (``addTime(_:_:)``).
    public func phaseSeconds() -> [String: Double] { state.withLock { $0.phaseSeconds } }

    /// Calls `body` after every batch the worker made durable and every rebalance it completed
    /// (tests await progress with it).
    public func observe(_ body: @escaping @Sendable () -> Void) {
        observers.withLock { $0.append(body) }
    }

    /// Called by the worker when a batch is durable and committed, or a rebalance completed.
    func changed() {
        for observer in observers.withLock({ $0 }) { observer() }
    }

    /// A counter's value.
    public func value(_ name: String) -> Int { state.withLock { $0.counters[name] ?? 0 } }

    /// A gauge's value for a label (0 when unset).
    public func gauge(_ name: String, label: String) -> Int64 { state.withLock { $0.gauges[name]?[label] ?? 0 } }

    /// A labelled counter's values.
    public func values(_ name: String) -> [String: Int] { state.withLock { $0.labelled[name] ?? [:] } }

    /// The Prometheus text exposition of every metric.
    public func render() -> String {
        state.withLock { state in
            var out = ""
            for (name, value) in state.counters.sorted(by: { $0.key < $1.key }) {
                out += "# TYPE audit_\(name)_total counter\naudit_\(name)_total \(value)\n"
            }
            for (name, values) in state.labelled.sorted(by: { $0.key < $1.key }) {
                out += "# TYPE audit_\(name)_total counter\n"
                for (label, value) in values.sorted(by: { $0.key < $1.key }) {
                    out += "audit_\(name)_total{reason=\"\(escape(label))\"} \(value)\n"
                }
            }
            for (name, values) in state.gauges.sorted(by: { $0.key < $1.key }) {
                out += "# TYPE audit_\(name) gauge\n"
                for (label, value) in values.sorted(by: { $0.key < $1.key }) {
                    out += "audit_\(name){partition=\"\(escape(label))\"} \(value)\n"
                }
            }
            if !state.phaseSeconds.isEmpty {
                out += "# TYPE audit_worker_seconds_total counter\n"
                for (phase, seconds) in state.phaseSeconds.sorted(by: { $0.key < $1.key }) {
                    out += "audit_worker_seconds_total{phase=\"\(escape(phase))\"} \(seconds)\n"
                }
            }
            out += "# TYPE audit_fsync_seconds histogram\n"
            for (i, bound) in Self.fsyncBuckets.enumerated() {
                out += "audit_fsync_seconds_bucket{le=\"\(bound)\"} \(state.fsyncBuckets[i])\n"
            }
            out += "audit_fsync_seconds_bucket{le=\"+Inf\"} \(state.fsyncCount)\n"
            out += "audit_fsync_seconds_sum \(state.fsyncSum)\naudit_fsync_seconds_count \(state.fsyncCount)\n"
            return out
        }
    }

    private func escape(_ text: String) -> String {
        text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
    }
}
