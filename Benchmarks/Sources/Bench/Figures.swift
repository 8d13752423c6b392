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

/// CPU time (user and system, every thread) a process has consumed, in seconds, from
/// `/proc/<pid>/stat`; `nil` when the process is gone. Its resolution is a clock tick (10 ms).
func processCPUTime(_ pid: Int32) -> Double? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    // After the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// CPU time (user and system) of the children this process has waited for, in seconds.
func waitedChildrenCPUTime() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
