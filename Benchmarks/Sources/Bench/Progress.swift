// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import AuditModel
import Foundation

/// A one-line progress display on a terminal (stderr); silent when stderr is not a terminal.
struct Progress {
    let total: Int?
    let label: String
    private let enabled = isatty(STDERR_FILENO) != 0
    private var last = ContinuousClock.now
    private let start = ContinuousClock.now

    init(_ label: String, total: Int?) {
        self.label = label
        self.total = total
    }

    /// Shows `done`, at most ten times a second.
    mutating func update(_ done: Int) {
        guard enabled else { return }
        let now = ContinuousClock.now
        guard now - last >= .milliseconds(100) else { return }
        last = now
        draw(done)
    }

    /// Shows the final count and ends the line.
    func finish(_ done: Int) {
        guard enabled else { return }
        draw(done)
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func draw(_ done: Int) {
        let seconds = max(1e-9, (ContinuousClock.now - start).inSeconds)
        let rate = Int(Double(done) / seconds)
        var text = "\r\(label): \(done)"
        if let total, total > 0 {
            let width = 30
            let filled = min(width, done * width / total)
            text += "/\(total) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
        }
        text += " \(rate)/s   "
        FileHandle.standardError.write(Data(text.utf8))
    }
}
