// AuditTrail — object store
// SPDX-License-Identifier: Apache-2.0

import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A local file read or written for uploads and downloads. Every system call runs on NIO's
/// blocking thread pool, never on the cooperative pool (2 threads on our machines).
struct LocalFile: Sendable {
    let descriptor: Int32
    let path: String

    private static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }

    private static func failure(_ call: String, _ path: String) -> ObjectStoreError {
        .io(path: path, message: "\(call): \(String(cString: strerror(errno)))")
    }

    /// Opens a file to read and returns it with its size.
    static func openForReading(_ path: String) async throws -> (LocalFile, Int64) {
        try await run {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw failure("open", path) }
            var status = stat()
            guard fstat(descriptor, &status) == 0 else {
                let error = failure("fstat", path)
                Glibc.close(descriptor)
                throw error
            }
            return (LocalFile(descriptor: descriptor, path: path), Int64(status.st_size))
        }
    }

    /// Creates a new file to write (it must not exist).
    static func create(_ path: String) async throws -> LocalFile {
        try await run {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw failure("open", path) }
            return LocalFile(descriptor: descriptor, path: path)
        }
    }

    /// Reads exactly `count` bytes at `offset`.
    func read(at offset: Int64, count: Int) async throws -> [UInt8] {
        let descriptor = descriptor
        let path = path
        return try await Self.run {
            var bytes = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let got = bytes.withUnsafeMutableBytes {
                    pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                }
                if got < 0 && errno == EINTR { continue }
                guard got >= 0 else { throw Self.failure("pread", path) }
                guard got > 0 else { throw ObjectStoreError.io(path: path, message: "file shrank while uploading") }
                done += got
            }
            return bytes
        }
    }

    /// Appends bytes.
    func write(_ bytes: [UInt8]) async throws {
        let descriptor = descriptor
        let path = path
        try await Self.run {
            var done = 0
            while done < bytes.count {
                let wrote = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + done, bytes.count - done) }
                if wrote < 0 && errno == EINTR { continue }
                guard wrote > 0 else { throw Self.failure("write", path) }
                done += wrote
            }
        }
    }

    /// Syncs the file's content to disk.
    func sync() async throws {
        let descriptor = descriptor
        let path = path
        try await Self.run { guard fsync(descriptor) == 0 else { throw Self.failure("fsync", path) } }
    }

    /// Closes the descriptor.
    func close() {
        _ = Glibc.close(descriptor)
    }

    /// Renames `from` over `to` and syncs their directory, so the rename survives a crash.
    static func rename(_ from: String, over to: String) async throws {
        try await run {
            guard Glibc.rename(from, to) == 0 else { throw failure("rename", to) }
            let slash = to.lastIndex(of: "/")
            let directory = slash.map { $0 == to.startIndex ? "/" : String(to[..<$0]) } ?? "."
            let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if descriptor >= 0 {
                _ = fsync(descriptor)
                _ = Glibc.close(descriptor)
            }
        }
    }

    /// Removes a file, ignoring errors (cleanup of a temporary file).
    static func remove(_ path: String) async {
        _ = try? await run { _ = unlink(path) }
    }
}
