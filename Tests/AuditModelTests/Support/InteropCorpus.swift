// AuditTrail — AuditModel tests
// SPDX-License-Identifier: Apache-2.0

import Foundation

/// The differential corpus made by the real pycadf / keystonemiddleware (`interop/gen_corpus.py`).
///
/// Created on first use by running `interop/setup-venv.sh` (a venv from PyPI) and the generator,
/// cached under `.build/interop-corpus/<key>/`, where the key hashes the generator, its requirements,
/// the schemas and the samples: any change regenerates it.
enum InteropCorpus {
    /// The corpus directory, or the error that prevented making it. Made once per test process.
    static let directory: Result<URL, CorpusError> = make()

    struct CorpusError: Error, CustomStringConvertible {
        var description: String
    }

    /// One case of corpus.jsonl.
    struct Case {
        var bytes: [UInt8]
        var kind: String
        var valid: Bool
        var reason: String?
        var source: String
        var mutation: String?
    }

    static func cases() throws -> [Case] {
        let url = try directory.get().appendingPathComponent("corpus.jsonl")
        return try Fixtures.lines(url).map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                let b64 = object["b64"] as? String, let bytes = Data(base64Encoded: b64),
                let kind = object["kind"] as? String, let valid = object["valid"] as? Bool,
                let source = object["source"] as? String
            else { throw CorpusError(description: "bad corpus line") }
            return Case(bytes: [UInt8](bytes), kind: kind, valid: valid, reason: object["reason"] as? String,
                        source: source, mutation: object["mutation"] as? String)
        }
    }

    private static func make() -> Result<URL, CorpusError> {
        let root = Fixtures.repositoryRoot
        let samples = root.deletingLastPathComponent().appendingPathComponent("shared/samples/notifications.jsonl")
        let inputs = ["interop/gen_corpus.py", "interop/requirements.txt", "interop/setup-venv.sh",
                      "schemas/cadf-event.schema.json", "schemas/notification.schema.json"].map { root.appendingPathComponent($0) }
            + [samples]
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a over every input (absent files hash as empty)
        for url in inputs {
            let content = (try? Data(contentsOf: url)) ?? Data()
            for byte in Array(url.lastPathComponent.utf8) + Array(content) {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
        }
        let cache = root.appendingPathComponent(".build/interop-corpus")
        let directory = cache.appendingPathComponent(String(hash, radix: 16))
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("summary.json").path) {
            return .success(directory)
        }
        do {
            let python = try run(["/bin/bash", root.appendingPathComponent("interop/setup-venv.sh").path], in: root)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let staging = cache.appendingPathComponent("staging-\(ProcessInfo.processInfo.processIdentifier)")
            try? FileManager.default.removeItem(at: staging)
            _ = try run([python, root.appendingPathComponent("interop/gen_corpus.py").path, staging.path], in: root)
            try? FileManager.default.removeItem(at: directory)
            try FileManager.default.moveItem(at: staging, to: directory)
            return .success(directory)
        } catch let error as CorpusError {
            return .failure(error)
        } catch {
            return .failure(CorpusError(description: "\(error)"))
        }
    }

    /// Runs a command; returns its standard output, throws with its standard error on failure.
    static func run(_ arguments: [String], in directory: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.currentDirectoryURL = directory
        let output = Pipe()
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("interop-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let log = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw CorpusError(description: "\(arguments.joined(separator: " ")) failed (\(process.terminationStatus)):\n\(log)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
