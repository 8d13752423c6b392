// AuditTrail — segment store
// SPDX-License-Identifier: Apache-2.0

import CLinux

#if canImport(Glibc)
import Glibc
#endif

/// An open file descriptor, closed on deinit: positional reads and writes, fsync, truncate.
///
/// Blocking POSIX calls: callers run the store off the cooperative pool (STYLE.md §7.5).
/// Files are created 0600 (DESIGN §5).
final class StoreFile {
    let descriptor: Int32
    let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// Opens an existing file read-only.
    static func openForReading(_ path: String) throws(StoreError) -> StoreFile {
        try open(path, flags: O_RDONLY)
    }

    /// Opens (creating 0600 if missing) read-write.
    static func openForWriting(_ path: String, create: Bool = true, truncate: Bool = false) throws(StoreError)
        -> StoreFile
    {
        try open(path, flags: O_RDWR | (create ? O_CREAT : 0) | (truncate ? O_TRUNC : 0))
    }

    private static func open(_ path: String, flags: Int32) throws(StoreError) -> StoreFile {
        let fd = Glibc.open(path, flags | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw StoreError(.notFound, "open \(path): no such file", cause: Errno(rawValue: code)) }
            throw StoreError.system("open", path: path, errno: code)
        }
        return StoreFile(descriptor: fd, path: path)
    }

    /// The file's size in bytes.
    func size() throws(StoreError) -> Int64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw StoreError.system("fstat", path: path, errno: errno) }
        return Int64(info.st_size)
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StoreError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.system("pwrite", path: path, errno: errno)
            }
            done += n
        }
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: [UInt8], at offset: Int64) throws(StoreError) {
        try bytes.withBytes { (buffer) throws(StoreError) in try write(buffer, at: offset) }
    }

    /// Reads exactly `count` bytes at `offset` (fewer only at end of file).
    func read(count: Int, at offset: Int64) throws(StoreError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let got = try out.withMutableBytes { (buffer) throws(StoreError) in try read(into: buffer, at: offset) }
        if got < count { out.removeLast(count - got) }
        return out
    }

    /// Reads into `buffer` at `offset`; returns the bytes read (fewer only at end of file).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StoreError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.system("pread", path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// The whole file.
    func readAll() throws(StoreError) -> [UInt8] { try read(count: Int(try size()), at: 0) }

    /// `fsync(2)`: data and metadata (size) reach the disk.
    func sync() throws(StoreError) {
        guard fsync(descriptor) == 0 else { throw StoreError.system("fsync", path: path, errno: errno) }
    }

    /// The device the file lives on (`st_dev`): files of one device can be flushed by one `syncfs`.
    func device() throws(StoreError) -> UInt64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw StoreError.system("fstat", path: path, errno: errno) }
        return UInt64(info.st_dev)
    }

    /// `syncfs(2)`: every dirty file of this file's filesystem, data and metadata, reaches the
    /// disk, with one journal commit and one device cache flush instead of one per file. Linux
    /// reports a write-back error of any file of the filesystem since this descriptor was opened.
    func syncFileSystem() throws(StoreError) {
        guard syncfs(descriptor) == 0 else { throw StoreError.system("syncfs", path: path, errno: errno) }
    }

    /// Cuts the file to `length` bytes.
    func truncate(to length: Int64) throws(StoreError) {
        guard ftruncate(descriptor, off_t(length)) == 0 else {
            throw StoreError.system("ftruncate", path: path, errno: errno)
        }
    }

    /// Takes an exclusive `flock(2)` without waiting; `false` if another open file holds it.
    ///
    /// `flock` locks belong to the open file description, so two writers in one process
    /// exclude each other too, and the kernel drops the lock when the holder dies.
    func tryLockExclusive() throws(StoreError) -> Bool {
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw StoreError.system("flock", path: path, errno: errno)
    }

    /// Releases a `flock(2)` taken by ``tryLockExclusive()``.
    func unlock() { _ = flock(descriptor, LOCK_UN) }
}

/// Directory operations of the store: 0700 directories, listing, rename, fsync.
package enum Directory {
    /// Creates `path` and its parents with mode 0700 (existing ones are left as they are).
    static func create(_ path: String) throws(StoreError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw StoreError.system("mkdir", path: prefix, errno: errno)
            }
        }
    }

    /// Names in `path`, without `.` and `..`, sorted.
    package static func list(_ path: String) throws(StoreError) -> [String] {
        guard let dir = opendir(path) else {
            let code = errno
            if code == ENOENT { throw StoreError(.notFound, "opendir \(path): no such directory") }
            throw StoreError.system("opendir", path: path, errno: code)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Whether `path` is a directory.
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether `path` exists.
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// `fsync(2)` on a directory: makes creations, renames and removals in it durable.
    static func sync(_ path: String) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.system("open", path: path, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StoreError.system("fsync", path: path, errno: errno) }
    }

    /// `rename(2)`.
    static func rename(_ from: String, to: String) throws(StoreError) {
        guard Glibc.rename(from, to) == 0 else { throw StoreError.system("rename", path: "\(from) -> \(to)", errno: errno) }
    }

    /// `unlink(2)`; a missing file is fine.
    static func remove(_ path: String) throws(StoreError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw StoreError.system("unlink", path: path, errno: errno) }
    }

    /// Writes `bytes` to `path` atomically: a temporary file, fsync, rename, fsync of the directory.
    static func writeAtomically(_ bytes: [UInt8], to path: String, directory: String) throws(StoreError) {
        let temporary = path + ".tmp"
        let file = try StoreFile.openForWriting(temporary, truncate: true)
        try file.write(bytes, at: 0)
        // The content must be durable before the rename makes it the file readers see.
        try file.sync()
        try rename(temporary, to: path)
        // The rename itself must be durable before the caller acts on it.
        try sync(directory)
    }
}
