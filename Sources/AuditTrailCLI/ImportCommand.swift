// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditWorker

/// `audit-trail import`: oslo log-driver files into a store.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import files written by oslo.messaging's log notification driver into a store.",
        discussion: """
            Each file becomes the log import.<file name>, one record a line (offset = line number), \
            validated and correlated like consumed notifications; bad notification lines are \
            quarantined whole, other log lines kept as markers. Importing a file again resumes \
            after the lines already imported.
            """)

    @Option(help: "Data directory of the store (created if missing).")
    var data: String

    @Argument(help: "Log files.")
    var files: [String]

    func run() async throws {
        let importer = LogImport(dataDirectory: data)
        for file in files {
            var progress = Progress("import \(file)", total: nil)
            let summary = try importer.importFile(file) { progress.update($0) }
            progress.finish(summary.notifications + summary.quarantined + summary.otherLines + summary.duplicates + summary.alreadyImported)
            print("\(file) -> \(summary.topic): \(summary.notifications) notifications, \(summary.quarantined) quarantined, \(summary.duplicates) duplicates, \(summary.otherLines) other lines, \(summary.alreadyImported) already imported")
        }
    }
}
