// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import Foundation

/// Prints `what: N unit in S s = R unit/s, M MB/s` and returns the rate per second.
@discardableResult
func reportRate(_ what: String, count: Int, unit: String, bytes: Int, _ duration: Duration) -> Double {
    let seconds = duration.inSeconds
    let rate = Double(count) / seconds
    print(String(format: "%@: %d %@ in %.2f s = %.0f %@/s, %.1f MB/s", what, count, unit, seconds, rate, unit, Double(bytes) / seconds / 1e6))
    return rate
}

/// CPU time consumed by the calling thread, in seconds.
func threadCPUTime() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// The value at fraction `p` of `sorted` (0 when empty).
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}
