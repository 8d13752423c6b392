// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import AuditModel
import AuditTraffic
import Foundation

/// `audit-trail validate FILE...`: decodes and validates every line, prints a verdict per line and a summary.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate notifications: JSON lines (one Kafka value a line) or oslo log-driver lines.",
        discussion: """
            Every wire form is accepted (oslo 2.0 envelope, v1, v1 with _context_* keys, log-driver lines, bare \
            CADF events). Notifications of other event types (e.g. compute.instance.create.end) are valid but \
            skipped. Exit status: 0 when every line is valid or skipped, 1 when any is invalid, 2 when a file \
            cannot be read.
            """)

    @Argument(help: "Files to validate ('-' for standard input).")
    var files: [String]

    @Flag(help: "One JSON object per line (and a final summary object) instead of text.")
    var json = false

    @Option(help: "Directory holding cadf-event.schema.json and notification.schema.json (default: the bundled copies of schemas/).")
    var schemas: String?

    @Flag(help: "Print only invalid lines and the summary.")
    var quiet = false

    func run() throws {
        let validator = try schemas.map { try SchemaValidator(directory: $0) } ?? SchemaValidator.bundled()
        var decoder = NotificationDecoder(validator: validator)
        var summary = ValidationSummary()
        var unreadable = false
        for file in files {
            guard let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
            else {
                FileHandle.standardError.write(Data("audit-trail validate: cannot read \(file)\n".utf8))
                unreadable = true
                continue
            }
            var number = 0
            for line in [UInt8](data).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                number += 1
                guard line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { continue }  // blank
                let verdict = decoder.decode(Array(line))
                summary.count(verdict)
                report(verdict, file: file, line: number)
            }
        }
        print(json ? summary.json : summary.text)
        if unreadable { throw ExitCode(2) }
        if summary.invalid > 0 { throw ExitCode(1) }
    }

    private func report(_ verdict: DecodedNotification, file: String, line: Int) {
        var fields: [(String, JSONText)] = [("file", .string(file)), ("line", .number(String(line)))]
        let text: String
        switch verdict {
        case .audit(let event):
            if quiet { return }
            fields += [
                ("verdict", .string("valid")), ("form", .string(event.form.rawValue)),
                ("eventType", .string(event.eventType.rawValue)), ("id", .string(event.id)),
                ("outcome", .string(event.outcome.rawValue)),
            ]
            text = "valid \(event.eventType.rawValue) \(event.id) \(event.outcome.rawValue) (\(event.form.rawValue))"
        case .nonAudit(let other):
            if quiet { return }
            fields += [("verdict", .string("skipped")), ("form", .string(other.form.rawValue)), ("eventType", .string(other.eventType))]
            text = "skipped non-audit \(other.eventType) (\(other.form.rawValue))"
        case .quarantined(let bad):
            fields += [("verdict", .string("invalid")), ("reason", .string(bad.reason.code.description))]
            if let rule = bad.reason.rule { fields.append(("rule", .string(rule))) }
            if let pointer = bad.reason.pointer { fields.append(("pointer", .string(pointer))) }
            if let offset = bad.reason.offset { fields.append(("offset", .number(String(offset)))) }
            if let form = bad.form { fields.append(("form", .string(form.rawValue))) }
            text = "invalid \(bad.reason)"
        }
        print(json ? String(decoding: JSONText.object(fields).bytes, as: UTF8.self) : "\(file):\(line): \(text)")
    }
}

/// Counts for the summary line.
struct ValidationSummary {
    var valid = 0
    var requests = 0
    var responses = 0
    var skipped = 0
    var invalid = 0
    var reasons: [String: Int] = [:]

    mutating func count(_ verdict: DecodedNotification) {
        switch verdict {
        case .audit(let event):
            valid += 1
            if event.eventType == .request { requests += 1 } else { responses += 1 }
        case .nonAudit:
            skipped += 1
        case .quarantined(let bad):
            invalid += 1
            reasons[bad.reason.code.description, default: 0] += 1
        }
    }

    var total: Int { valid + skipped + invalid }

    var text: String {
        var line = "\(total) lines: \(valid) valid audit (\(requests) requests, \(responses) responses), "
            + "\(skipped) non-audit (valid, skipped), \(invalid) invalid"
        if !reasons.isEmpty {
            line += " (" + reasons.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + ")"
        }
        return line
    }

    var json: String {
        let fields: [(String, JSONText)] = [
            ("summary", .bool(true)), ("lines", .number(String(total))), ("valid", .number(String(valid))),
            ("requests", .number(String(requests))), ("responses", .number(String(responses))),
            ("skippedNonAudit", .number(String(skipped))), ("invalid", .number(String(invalid))),
            ("reasons", .object(reasons.sorted { $0.key < $1.key }.map { ($0.key, .number(String($0.value))) })),
        ]
        return String(decoding: JSONText.object(fields).bytes, as: UTF8.self)
    }
}
