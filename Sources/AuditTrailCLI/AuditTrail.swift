// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser

@main
struct AuditTrail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-trail",
        abstract: "CADF audit notifications from Kafka into verifiable, indexed segment files.",
        discussion: """
            Run `audit-trail demo` for a self-contained run on an embedded Kafka (librdkafka's mock cluster).
            """,
        subcommands: [WorkerCommand.self, Demo.self, Publish.self, Validate.self, QueryCommand.self, ShowCommand.self, ExportCommand.self, StatsCommand.self, VerifyCommand.self, ServeCommand.self, RepairCommand.self, ReplayCommand.self, ImportCommand.self, Broker.self]
    )
}
