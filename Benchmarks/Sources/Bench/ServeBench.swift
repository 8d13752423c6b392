// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditModel
import AuditTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `bench serve`: `audit-trail serve` under `wrk` over a large store: a scoped, filtered
/// `/v1/calls` page and `/v1/events/{id}`, next to issue #18's goals.
struct ServeBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "`audit-trail serve` under wrk over a large store (default 10M notifications): /v1/calls and /v1/events/{id}.",
        discussion: """
            Builds a store of --notifications (120 projects, several partitions, sealed) under \
            --data/<notifications>/ once and reuses it on later runs; 10M take ~17 GB raw and \
            ~2 GB on disk. Then starts the release `audit-trail serve` with a token file, and runs \
            `wrk --latency` with a project-scoped audit_viewer token against a filtered /v1/calls \
            page and /v1/events/{id} over ids of the project. Goals (issue #18): /v1/calls p99 \
            <= 50 ms and >= 500 requests/s; /v1/events/{id} p99 <= 5 ms.
            """)

    @Option(help: "Notifications in the store.")
    var notifications: Int = 10_000_000

    @Option(help: "Where stores are kept between runs, one directory per size.")
    var data: String = NSTemporaryDirectory() + "audit-trail-serve-bench"

    @Option(help: "Partitions of the store's topic.")
    var partitions: Int = 8

    @Option(help: "Threads writing the store (each owns some partitions).")
    var writers: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "The token's project: busiest, median, or a project id of the store.")
    var scope: String = "busiest"

    @Option(help: "The /v1/calls query (the token adds the scope).")
    var callsQuery: String = "outcome=failure&action=read&limit=50"

    @Option(help: "Pages of the /v1/calls query a second run asks in turn, by cursor (a reader paging on, not one page again).")
    var pages: Int = 200

    @Option(help: "wrk threads.")
    var threads: Int = 2

    @Option(help: "wrk connections.")
    var connections: Int = 4

    @Option(help: "Seconds of each wrk run.")
    var duration: Int = 15

    @Option(help: "Path of wrk.")
    var wrk: String = "/usr/bin/wrk"

    @Flag(help: "Build (or find) the store and stop: to prepare it ahead of a measurement.")
    var storeOnly = false

    @Option(help: """
        The `audit-trail` executable that serves (default: $AUDIT_TRAIL_BIN, else \
        .build/release/audit-trail of the package above this one; `make bench` builds it).
        """)
    var auditTrail: String?

    func run() async throws {
        let executable = try releaseAuditTrail(auditTrail)
        guard FileManager.default.isExecutableFile(atPath: wrk) else { throw ValidationError("no wrk at \(wrk) (apt-get install wrk)") }
        let (store, directory) = try ServeStore.openOrBuild(
            data: data, notifications: notifications, partitions: partitions, threads: writers)
        if storeOnly { return }
        let project = try pickProject(store)
        let ids = store.ids[project] ?? []
        guard !ids.isEmpty else { throw ValidationError("no ids sampled for project \(project)") }
        print(String(format: "store: %d notifications, %d partitions, %d projects, %.2f GB on disk; token scoped to project %@ (%d notifications, %.1f%%)",
                     store.notifications, store.partitions, store.projects.count, Double(store.bytesOnDisk) / 1e9, project,
                     store.projects[project] ?? 0, 100 * Double(store.projects[project] ?? 0) / Double(store.notifications)))

        let work = NSTemporaryDirectory() + TestEnvironment.uniqueName("bench-serve")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let token = "bench-viewer"
        try "{\"token\": \"\(token)\", \"project_id\": \"\(project)\", \"roles\": [\"audit_viewer\"]}\n"
            .write(toFile: work + "/tokens.jsonl", atomically: true, encoding: .utf8)

        let port = TestEnvironment.freePort()
        let server = Process()
        server.executableURL = executable
        server.arguments = ["serve", "--data", directory, "--port", String(port), "--tokens", work + "/tokens.jsonl"]
        _ = FileManager.default.createFile(atPath: work + "/serve.log", contents: nil)
        server.standardError = FileHandle(forWritingAtPath: work + "/serve.log")
        server.standardOutput = FileHandle.nullDevice
        print("serving with \(executable.path) on port \(port)")
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let base = "http://127.0.0.1:\(port)"
        try await waitForHealth(base, server: server, log: work + "/serve.log")

        let calls = "/v1/calls?" + callsQuery
        let events = "/v1/events/"
        // One request of each first: they answer 200 with what is asked, and the first one's
        // time is what a cold server costs.
        for (label, path) in [("calls", calls), ("event", events + ids[0])] {
            let (status, body, seconds) = try await Self.fetch(base + path, token: token)
            guard status == 200 else { throw ValidationError("\(path): HTTP \(status): \(String(decoding: body, as: UTF8.self).prefix(300))") }
            let shown = label == "calls" ? ", \(Self.callCount(body)) calls" : ""
            print(String(format: "first %@ request: %.1f ms, %d bytes%@", label, seconds * 1000, body.count, shown))
        }

        // The server keeps up to a reader per core between requests, each with the indexes it
        // loaded: open them all at once before measuring, so that wrk sees the steady state (a
        // cold request's time is the first one above).
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids.prefix(connections) {
                group.addTask { _ = try await Self.fetch(base + events + id, token: token) }
            }
            try await group.waitForAll()
        }

        let script = "wrk.headers[\"X-Auth-Token\"] = \"\(token)\"\n"
        try script.write(toFile: work + "/calls.lua", atomically: true, encoding: .utf8)
        try (script + Self.rotation(ids, prefix: events)).write(toFile: work + "/events.lua", atomically: true, encoding: .utf8)
        // Events first: requests wrk leaves unanswered at the end of a run keep the server busy
        // for as long as a slow one takes.
        let eventsRun = try runWrk(base + events + ids[0], script: work + "/events.lua")
        report("GET \(events){id} (scoped, \(ids.count) ids in turn)", eventsRun, p99Goal: 5, rateGoal: nil)
        let callsRun = try runWrk(base + calls, script: work + "/calls.lua")
        report("GET \(calls) (scoped)", callsRun, p99Goal: 50, rateGoal: 500)
        // The same query's first pages in turn: each asked once in --pages requests, so a page
        // read before is seldom still among a reader's recent records.
        var cursors: [String] = []
        var after: String? = ""
        while let cursor = after, cursors.count < pages {
            cursors.append(cursor)
            let (_, body, _) = try await Self.fetch(base + calls + (cursor.isEmpty ? "" : "&after=" + cursor), token: token)
            after = ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["next"] as? String
        }
        let paths = cursors.map { calls + ($0.isEmpty ? "" : "&after=" + $0) }
        try (script + Self.rotation(paths, prefix: "")).write(toFile: work + "/pages.lua", atomically: true, encoding: .utf8)
        let pagesRun = try runWrk(base + calls, script: work + "/pages.lua")
        report("GET \(calls) (scoped, its first \(paths.count) pages in turn)", pagesRun, p99Goal: 50, rateGoal: 500)
        await printStoreTimes(base)
        if let status = try? String(contentsOfFile: "/proc/\(server.processIdentifier)/status", encoding: .utf8) {
            let memory = status.split(separator: "\n").filter { $0.hasPrefix("VmRSS:") || $0.hasPrefix("VmHWM:") }
            print("  server memory: " + memory.map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }.joined(separator: ", "))
        }
    }

    /// The project the token is scoped to.
    private func pickProject(_ store: ServeStore) throws -> String {
        let bySize = store.projects.sorted { ($0.value, $0.key) > ($1.value, $1.key) }
        switch scope {
        case "busiest": return bySize[0].key
        case "median": return bySize[bySize.count / 2].key
        default:
            guard store.projects[scope] != nil else { throw ValidationError("the store has no project \(scope)") }
            return scope
        }
    }

    /// A wrk script body that asks for `prefix` + each of `ids` in turn, each thread from
    /// another place in the list.
    private static func rotation(_ ids: [String], prefix: String) -> String {
        """
        ids = {\(ids.map { "\"\($0)\"" }.joined(separator: ", "))}
        counter = 0
        start = 0
        local threads = 0
        function setup(thread)
          thread:set("start", threads * 97)
          threads = threads + 1
        end
        function request()
          counter = counter + 1
          return wrk.format("GET", "\(prefix)" .. ids[((start + counter) % #ids) + 1])
        end

        """
    }

    /// What a wrk run printed, parsed.
    struct WrkRun {
        var requests = 0
        var rate = 0.0
        /// Latencies in ms.
        var p50 = 0.0
        var p99 = 0.0
        var max = 0.0
        var non2xx = 0
        var socketErrors = ""
    }

    private func runWrk(_ url: String, script: String) throws -> WrkRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: wrk)
        // A long timeout: a slow answer is a latency to report, not an error wrk leaves out.
        process.arguments = [
            "-t", String(threads), "-c", String(connections), "-d", "\(duration)s", "--timeout", "60s", "--latency",
            "-s", script, url,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ValidationError("wrk failed:\n\(output)") }
        return Self.parse(output)
    }

    /// Parses `wrk --latency`'s report.
    static func parse(_ output: String) -> WrkRun {
        var run = WrkRun()
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard let first = words.first else { continue }
            switch first {
            case "50%": run.p50 = milliseconds(words.dropFirst().first)
            case "99%": run.p99 = milliseconds(words.dropFirst().first)
            case "Latency" where words.count >= 4: run.max = milliseconds(words[3])
            case "Requests/sec:": run.rate = Double(words.dropFirst().first ?? "") ?? 0
            case "Non-2xx": run.non2xx = Int(words.last ?? "") ?? 0
            case "Socket": run.socketErrors = String(line.trimmingCharacters(in: .whitespaces))
            default:
                if words.count > 2, words[1] == "requests", words[2] == "in" { run.requests = Int(first) ?? 0 }
            }
        }
        return run
    }

    /// wrk's `812.00us`, `1.23ms`, `2.50s` or `1.01m`, in ms.
    private static func milliseconds(_ text: Substring?) -> Double {
        guard let text else { return 0 }
        for (unit, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60_000.0)] where text.hasSuffix(unit) {
            return (Double(text.dropLast(unit.count)) ?? 0) * scale
        }
        return Double(text) ?? 0
    }

    private func report(_ what: String, _ run: WrkRun, p99Goal: Double, rateGoal: Double?) {
        let p99Met = run.p99 <= p99Goal ? "met" : "missed"
        var line = String(format: "%@: %.1f requests/s, p50 %.2f ms, p99 %.2f ms (goal <= %.0f ms: %@), max %.2f ms, %d requests",
                          what, run.rate, run.p50, run.p99, p99Goal, p99Met, run.max, run.requests)
        if let rateGoal { line += String(format: "; goal >= %.0f requests/s: %@", rateGoal, run.rate >= rateGoal ? "met" : "missed") }
        print(line)
        if run.non2xx > 0 || !run.socketErrors.isEmpty {
            print("  errors: \(run.non2xx) non-2xx answers \(run.socketErrors)")
        }
    }

    /// The server's mean store read time per query kind, from its `/metrics`.
    private func printStoreTimes(_ base: String) async {
        guard let url = URL(string: base + "/metrics"), let (body, _) = try? await URLSession.shared.data(from: url) else { return }
        var sums: [String: Double] = [:]
        var counts: [String: Double] = [:]
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where line.hasPrefix("audit_store_query_duration_seconds_") {
            guard let open = line.range(of: "query=\""), let close = line[open.upperBound...].firstIndex(of: "\""),
                let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
            let query = String(line[open.upperBound..<close])
            if line.hasPrefix("audit_store_query_duration_seconds_sum") { sums[query] = value }
            if line.hasPrefix("audit_store_query_duration_seconds_count") { counts[query] = value }
        }
        for (query, count) in counts.sorted(by: { $0.key < $1.key }) where count > 0 {
            print(String(format: "  server: store read %@, mean %.2f ms over %.0f reads (reader opened, indexes loaded, query)",
                         query, 1000 * (sums[query] ?? 0) / count, count))
        }
    }

    private func waitForHealth(_ base: String, server: Process, log: String) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard server.isRunning else {
                throw ValidationError("audit-trail serve exited: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            if let (status, _, _) = try? await Self.fetch(base + "/healthz", token: nil), status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("audit-trail serve did not answer /healthz within 60 s")
    }

    private static func fetch(_ url: String, token: String?) async throws -> (Int, Data, Double) {
        var request = URLRequest(url: URL(string: url)!)
        request.timeoutInterval = 120
        if let token { request.setValue(token, forHTTPHeaderField: "X-Auth-Token") }
        let start = ContinuousClock.now
        let (body, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, body, start.duration(to: .now).inSeconds)
    }

    /// The calls of a `/v1/calls` page.
    private static func callCount(_ body: Data) -> Int {
        (((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["calls"] as? [Any])?.count ?? 0
    }
}
