// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditQuery
import AuditStore
import Foundation

/// `audit-trail query`: calls of the stored trail, filtered, sorted and paged.
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "List stored calls (pairs and orphans): filters, negation, sorting, cursor paging.",
        discussion: """
            Every filter must hold; --not FILTER=VALUE excludes what a filter matches. Calls come \
            oldest first unless --sort says otherwise. With --limit, the command ends with the cursor \
            of the next page on standard error: pass it to --after. Examples:
              audit-trail query --data DIR --since 1h --outcome failure --not status=401
              audit-trail query --data DIR --initiator alice --action update --format csv
              audit-trail query --data DIR --sort latency --desc --limit 20
            """)

    @OptionGroup var options: TrailOptions
    @OptionGroup(title: "Filters") var filters: CallFilterOptions

    @Option(help: "Sort by: \(CallQuery.SortKey.allCases.map(\.rawValue).joined(separator: ", ")).")
    var sort: String = "time"

    @Flag(help: "Largest first.")
    var desc = false

    @Option(help: "Calls per page (default: all).")
    var limit: Int?

    @Option(help: "Cursor printed by the previous page.")
    var after: String?

    @Option(help: "table (people), json (JSON lines: attributes, sources and both notifications) or csv.")
    var format: CallOutput = .table

    @Flag(help: "Same as --format json.")
    var json = false

    func run() async throws {
        var query = CallQuery()
        query.filters = try filters.filters(now: microsecondsNow())
        guard let key = CallQuery.SortKey(rawValue: sort) else {
            throw ValidationError("unknown sort key \(sort.debugDescription)")
        }
        query.sort = key
        query.descending = desc
        query.limit = limit
        query.after = after
        // Sorting by latency needs every response's body; anything else sorts from the indexes
        // and reads the bodies of the printed calls only.
        try await options.prepare()
        let reader = try options.reader()
        let trail = try options.trail(indexOnly: key != .latency, reader: reader, filters: query.filters)
        let page = try query.page(of: trail)
        let latency = TrailOptions.latency()
        let output = try OutputStream(path: nil)
        let format = json ? .json : format
        var table = CallTable()
        if format == .csv { output.line(CallFormat.csvHeader(withBodies: false)) }
        // A thousand calls at a time: their halves read together, each block decoded once.
        for start in stride(from: 0, to: page.calls.count, by: 1000) {
            for call in try Array(page.calls[start..<min(page.calls.count, start + 1000)]).loadingBodies(from: reader, latency: latency) {
                switch format {
                case .json: output.line(CallFormat.jsonLine(call))
                case .csv: output.line(CallFormat.csvLine(call, withBodies: false))
                case .table: table.add(call)
                }
            }
        }
        if format == .table { table.print(to: output) }
        output.flush()
        if let next = page.next { printError("next page: --after \(next)") }
    }
}

/// Calls as aligned columns for people.
struct CallTable {
    private var rows: [[String]] = [["TIME", "ID", "STATE", "ACTION", "OUTCOME", "STATUS", "LATENCY", "INITIATOR", "PUBLISHER", "PATH"]]

    mutating func add(_ call: Trail.Call) {
        let fields = call.fields
        rows.append([
            call.eventTime.map { String(CallFormat.utcText($0).prefix(23)) + "Z" } ?? "-", call.id, call.state.rawValue,
            fields?.action ?? "-", call.outcome, call.status.map(String.init) ?? "-",
            call.latencyMilliseconds.map { String(format: "%.1f ms", $0) } ?? "-",
            fields?.initiatorName ?? fields?.initiatorId ?? "-", fields?.publisher ?? "-", fields?.requestPath ?? "-",
        ])
    }

    func print(to output: OutputStream) {
        guard rows.count > 1 else { return printError("no calls match") }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        for row in rows {
            let cells = row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }
            output.line(cells.joined(separator: "  "))
        }
    }
}
