// AuditTrail — worker tests
// SPDX-License-Identifier: Apache-2.0

import AuditStore
import AuditTesting
import AuditWorker
import Foundation
import Testing

/// `import`: files of oslo.messaging's real `log` notification driver (keystonemiddleware in the
/// interop venv) into a store, every line accounted for.
@Suite(.timeLimit(.minutes(5)))
struct LogImportTests {
    struct Logged: Decodable {
        var calls: Int
        var lines: Int
        var requests: [String]
        var responses: [String]
    }

    static let garbage = [
        "2026-11-22 10:12:02.735 4242 INFO oslo.messaging.notification.audit.http.request [-] {\"message_id\": \"x\", \"payload\": {\"id\": ",
        "2026-11-22 10:12:02.736 4242 INFO oslo.messaging.notification.audit.http.response [-] {\"message_id\": \"y\", \"event_type\": \"audit.http.response\", \"payload\": {}}",
    ]

    @Test func aRealLogDriverFileImportsWholeAndResumes() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("import")).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let generated = directory + "/generated.log"
        let run = try Interop.runScript("keystone_log_driver.py", [generated, "300", "11"])
        try #require(run.status == 0, "\(run.stderr)")
        let logged = try JSONDecoder().decode(Logged.self, from: Data(run.stdout.utf8))
        var lines = try String(contentsOfFile: generated, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == logged.lines)
        lines.insert(Self.garbage[0], at: 7)
        lines.insert(Self.garbage[1], at: 100)
        lines.append(lines[lines.firstIndex { $0.contains("oslo.messaging.notification.audit.http.response") }!])  // a copy
        let store = directory + "/store"
        let path = directory + "/nova-api.log"
        // An import interrupted after the first 200 lines, then run again on the whole file.
        try (lines.prefix(200).joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let first = try LogImport(dataDirectory: store).importFile(path)
        #expect(first.notifications + first.quarantined + first.otherLines + first.duplicates == 200)
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let second = try LogImport(dataDirectory: store).importFile(path)
        #expect(second.alreadyImported == 200)
        #expect(first.notifications + second.notifications == logged.requests.count + logged.responses.count)
        #expect(first.quarantined + second.quarantined == 2)
        #expect(first.duplicates + second.duplicates == 1)
        #expect(first.otherLines + second.otherLines == logged.lines - logged.requests.count - logged.responses.count)
        // Once more: nothing new.
        let third = try LogImport(dataDirectory: store).importFile(path)
        #expect(third.alreadyImported == lines.count && third.notifications == 0)

        // Every call pairs; the stored halves are the file's lines, byte for byte.
        let trail = try Trail(directory: store, window: 0, now: .max / 2)
        #expect(Set(trail.calls.filter(\.isPair).map(\.id)) == Set(logged.requests).intersection(logged.responses))
        #expect(trail.statistics.quarantined == 2 && trail.statistics.duplicates == 1)
        let fileLines = Set(lines)
        for call in trail.calls {
            for half in [call.request, call.response].compactMap({ $0 }) {
                #expect(fileLines.contains(String(decoding: half.record.bytes!, as: UTF8.self)))
            }
        }
        let report = StoreVerifier(directory: store).verify()
        #expect(report.isValid, "\(report.findings.prefix(3))")
        #expect(report.heads.first?.nextOffset == Int64(lines.count))
        #expect(report.heads.first?.topic == "import.nova-api.log")
    }
}
