// AuditTrail — command-line tool
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import Kafka

/// Options every command that talks to Kafka shares.
struct KafkaOptions: ParsableArguments {
    @Option(name: .long, help: "Bootstrap servers, host:port[,host:port...].")
    var brokers: String

    @Option(
        name: .customShort("X"), parsing: .unconditionalSingleValue,
        help: ArgumentHelp("A librdkafka property, key=value (repeatable), as with kcat.", valueName: "key=value"))
    var properties: [String] = []

    @Flag(help: "Allow librdkafka settings that can lose or duplicate audit data (refused otherwise).")
    var allowUnsafeSettings = false

    /// The Kafka configuration these options describe.
    func configuration() throws -> KafkaConfiguration {
        var configuration = KafkaConfiguration(bootstrapServers: brokers)
        try configuration.apply(passthrough: properties)
        configuration.allowUnsafeSettings = allowUnsafeSettings
        return configuration
    }
}
