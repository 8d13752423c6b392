// AuditTrail — Kafka module tests
// SPDX-License-Identifier: Apache-2.0

import Kafka
import Testing

struct KafkaConfigurationTests {
    @Test func passthroughPairsAreApplied() throws {
        var configuration = KafkaConfiguration(bootstrapServers: "localhost:9092")
        try configuration.apply(passthrough: ["security.protocol=SASL_SSL", "sasl.mechanism=PLAIN", "client.id=a=b"])
        #expect(configuration["security.protocol"] == "SASL_SSL")
        #expect(configuration["client.id"] == "a=b")
        #expect(throws: KafkaError(.configuration, "")) { try configuration.apply(passthrough: ["novalue"]) }
        #expect(throws: KafkaError(.configuration, "")) { try configuration.apply(passthrough: ["=x"]) }
    }

    @Test func safeDefaultsFillWhatIsUnset() {
        var configuration = KafkaConfiguration(bootstrapServers: "x")
        configuration.set("auto.offset.reset", "earliest")
        let consumer = configuration.withDefaults(for: .consumer)
        #expect(consumer["enable.auto.commit"] == "false")
        #expect(consumer["enable.auto.offset.store"] == "false")
        #expect(consumer["check.crcs"] == "true")
        #expect(consumer["partition.assignment.strategy"] == "cooperative-sticky")
        let producer = configuration.withDefaults(for: .producer)
        #expect(producer["enable.idempotence"] == "true")
        #expect(producer["acks"] == "all")
        #expect(consumer.unsafeSettings(for: .consumer).isEmpty)
        #expect(producer.unsafeSettings(for: .producer).isEmpty)
    }

    @Test(arguments: [
        ("enable.auto.commit", "true"), ("auto.offset.reset", "latest"), ("check.crcs", "false"),
        ("enable.auto.offset.store", "true"),
    ])
    func unsafeConsumerSettingsAreRefused(key: String, value: String) throws {
        var configuration = KafkaConfiguration(bootstrapServers: "127.0.0.1:1")
        configuration.set(key, value)
        #expect(configuration.unsafeSettings(for: .consumer).count == 1)
        #expect(throws: KafkaError(.unsafeConfiguration, "")) { _ = try Consumer(configuration: configuration) }
        configuration.allowUnsafeSettings = true
        _ = try Consumer(configuration: configuration)
    }

    @Test func unsafeProducerSettingsAreRefused() throws {
        var configuration = KafkaConfiguration(bootstrapServers: "127.0.0.1:1")
        configuration.set("acks", "1")
        #expect(throws: KafkaError(.unsafeConfiguration, "")) { _ = try Producer(configuration: configuration) }
        configuration.set("acks", "all")
        configuration.set("enable.idempotence", "false")
        #expect(throws: KafkaError(.unsafeConfiguration, "")) { _ = try Producer(configuration: configuration) }
    }

    @Test func librdkafkaRejectionNamesTheProperty() {
        var configuration = KafkaConfiguration(bootstrapServers: "127.0.0.1:1")
        configuration.set("no.such.property", "1")
        do {
            _ = try Producer(configuration: configuration)
            Issue.record("an unknown property was accepted")
        } catch {
            #expect(error.code == .configuration)
            #expect(error.message.contains("no.such.property"))
            #expect(error.function == "rd_kafka_conf_set")
        }
    }
}
