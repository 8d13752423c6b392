// AuditTrail — read server
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import CoreFoundation
import CDispatch
import Glibc
import Synchronization

/// Store readers kept open between requests while the store does not change.
///
/// Opening a reader reads every log's manifest and journal, and its first reads load and check
/// the index of each segment they touch (SHA-256, zstd, columns): over a store of millions of
/// notifications that is most of a request's time. A reader is a snapshot, so one that is kept
/// may serve a later request only while the files it was opened on are the same: each request
/// takes a ``StoreFingerprint`` first (the name, inode, size and change time of every file of
/// every log), and the readers opened under another fingerprint are dropped. A journal the
/// workers append to, a seal, a new manifest or a retired segment all change it.
///
/// A reader still has one owner at a time: a request takes it out of the pool and puts it back
/// when done.
final class ReaderPool: Sendable {
    /// A reader handed from one request to the next through the lock, never shared by two.
    private final class Pooled: @unchecked Sendable {
        let reader: StoreReader
        init(_ reader: StoreReader) { self.reader = reader }
    }

    private struct State {
        var fingerprint: StoreFingerprint?
        var idle: [Pooled] = []
    }

    let directory: String
    /// Idle readers kept at most (each holds the indexes it loaded).
    let capacity: Int
    private let state = Mutex(State())

    init(directory: String, capacity: Int) {
        self.directory = directory
        self.capacity = capacity
    }

    /// Runs `body` with a reader that sees the store as it is now, and the fingerprint of the
    /// store it was opened on (or later: never earlier).
    func withReader<T>(_ body: (StoreReader, StoreFingerprint) throws -> T) throws -> T {
        let fingerprint = StoreFingerprint(directory: directory)
        let kept = state.withLock { state -> Pooled? in
            if state.fingerprint != fingerprint {
                state.fingerprint = fingerprint
                state.idle.removeAll()
            }
            return state.idle.popLast()
        }
        // Opened after the fingerprint was taken, a new reader sees at least that state; if the
        // store changed in between, the next request's fingerprint differs and drops it.
        let pooled = try kept ?? Pooled(StoreReader(directory: directory))
        let result = try body(pooled.reader, fingerprint)
        state.withLock { state in
            if state.fingerprint == fingerprint && state.idle.count < capacity { state.idle.append(pooled) }
        }
        return result
    }
}

/// What a store's readers depend on: every file of every log directory (`<topic>/<partition>/`)
/// with its inode, size and change time, in directory order.
struct StoreFingerprint: Equatable, Sendable {
    private var files: [File] = []

    private struct File: Equatable, Sendable {
        var path: String
        var inode: UInt64
        var size: Int64
        var changed: Int64
    }

    init(directory: String) {
        // A name that is not a directory (or is gone) lists nothing.
        func list(_ path: String) -> [String] { (try? Directory.list(path)) ?? [] }
        for topic in list(directory) {
            for partition in list(directory + "/" + topic) where Int32(partition) != nil {
                let log = directory + "/" + topic + "/" + partition
                for name in list(log) {
                    let path = log + "/" + name
                    var status = stat()
                    guard stat(path, &status) == 0 else { continue }
                    files.append(
                        File(
                            path: path, inode: UInt64(status.st_ino), size: Int64(status.st_size),
                            changed: Int64(status.st_ctim.tv_sec) * 1_000_000_000 + Int64(status.st_ctim.tv_nsec)))
                }
            }
        }
    }
}
