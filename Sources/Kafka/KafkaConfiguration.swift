// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

import CRdKafka

/// librdkafka properties for a producer or a consumer: a few typed settings, the safe defaults
/// of DESIGN §6.7, and every other librdkafka property passed through as text (`-X key=value`,
/// as kcat does), so SASL, TLS and tuning need no code here.
public struct KafkaConfiguration: Sendable {
    /// The properties handed to `rd_kafka_conf_set`, in the order they were set.
    public private(set) var properties: [(key: String, value: String)] = []

    /// Allows settings that can lose or duplicate audit data (see ``unsafeSettings(for:)``).
    ///
    /// Off by default: a handle refuses to start with such settings unless this is set.
    public var allowUnsafeSettings = false

    /// A configuration for a cluster reached through `bootstrapServers`.
    public init(bootstrapServers: String) {
        set("bootstrap.servers", bootstrapServers)
    }

    /// A configuration without a bootstrap address (for handles that never connect).
    init() {}

    /// The value of a property, if set.
    public subscript(key: String) -> String? {
        properties.last(where: { $0.key == key })?.value
    }

    /// Sets a librdkafka property (replacing an earlier value of the same key).
    public mutating func set(_ key: String, _ value: String) {
        properties.removeAll { $0.key == key }
        properties.append((key, value))
    }

    /// Sets a property only when it was not set yet (used for defaults).
    mutating func setDefault(_ key: String, _ value: String) {
        if self[key] == nil { set(key, value) }
    }

    /// This configuration for a reader that must not disturb any consumer group (replay,
    /// repair): a group id of its own (`<prefix>-<random>`), nothing committed or stored, from
    /// the earliest offset. Such a reader assigns its partitions instead of subscribing.
    public func forPrivateReader(prefix: String) -> KafkaConfiguration {
        var copy = self
        copy.set("group.id", "\(prefix)-\(UInt64.random(in: 0...UInt64.max))")
        copy.set("enable.auto.commit", "false")
        copy.set("enable.auto.offset.store", "false")
        copy.set("auto.offset.reset", "earliest")
        return copy
    }

    /// Applies `key=value` pairs as given on a command line with `-X`.
    ///
    /// - Throws: ``KafkaError/Code/configuration`` when a pair has no `=` or an empty key.
    public mutating func apply(passthrough pairs: [String]) throws(KafkaError) {
        for pair in pairs {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw KafkaError(.configuration, "expected key=value, got '\(pair)'")
            }
            set(String(pair[..<eq]), String(pair[pair.index(after: eq)...]))
        }
    }

    /// The role a handle plays, which decides its defaults and what counts as unsafe.
    public enum Role: Sendable {
        case producer, consumer
    }

    /// This configuration with the safe defaults of its role filled in where the user set nothing.
    ///
    /// Producer: idempotent, `acks=all`. Consumer: auto-commit and auto offset store off,
    /// `auto.offset.reset=earliest`, CRC checks on, cooperative-sticky assignment.
    public func withDefaults(for role: Role) -> KafkaConfiguration {
        var copy = self
        switch role {
        case .producer:
            copy.setDefault("enable.idempotence", "true")
            copy.setDefault("acks", "all")
        case .consumer:
            copy.setDefault("enable.auto.commit", "false")
            copy.setDefault("enable.auto.offset.store", "false")
            copy.setDefault("auto.offset.reset", "earliest")
            copy.setDefault("check.crcs", "true")
            copy.setDefault("partition.assignment.strategy", "cooperative-sticky")
        }
        return copy
    }

    /// Settings that can lose audit data (or duplicate it silently) for this role.
    ///
    /// Each entry names the key and why it is refused.
    public func unsafeSettings(for role: Role) -> [String] {
        func isFalse(_ key: String) -> Bool { self[key].map { ["false", "0"].contains($0.lowercased()) } ?? false }
        func isTrue(_ key: String) -> Bool { self[key].map { ["true", "1"].contains($0.lowercased()) } ?? false }
        var found: [String] = []
        switch role {
        case .producer:
            if let acks = self["acks"] ?? self["request.required.acks"], !["all", "-1"].contains(acks) {
                found.append("acks=\(acks): a leader failure loses acknowledged messages; use acks=all")
            }
            if isFalse("enable.idempotence") {
                found.append("enable.idempotence=false: retries can duplicate or reorder messages")
            }
        case .consumer:
            if isTrue("enable.auto.commit") {
                found.append("enable.auto.commit=true: offsets would be committed before data is durable")
            }
            if isTrue("enable.auto.offset.store") {
                found.append("enable.auto.offset.store=true: offsets would be stored before data is durable")
            }
            if let reset = self["auto.offset.reset"],
                !["earliest", "smallest", "beginning", "error"].contains(reset)
            {
                found.append("auto.offset.reset=\(reset): a consumer without a committed offset would skip data")
            }
            if isFalse("check.crcs") {
                found.append("check.crcs=false: corrupted records would be accepted")
            }
        }
        return found
    }

    /// Builds an `rd_kafka_conf_t` with this configuration's properties.
    ///
    /// - Throws: ``KafkaError/Code/configuration`` naming the property librdkafka rejected,
    ///   ``KafkaError/Code/unsafeConfiguration`` for refused settings.
    func makeConf(role: Role) throws(KafkaError) -> OpaquePointer {
        let unsafe = unsafeSettings(for: role)
        if !unsafe.isEmpty && !allowUnsafeSettings {
            throw KafkaError(
                .unsafeConfiguration,
                "refusing settings that can lose audit data: \(unsafe.joined(separator: "; "))"
                    + " (allow them explicitly to proceed)")
        }
        let conf = rd_kafka_conf_new()!
        var errstr = [CChar](repeating: 0, count: 512)
        for (key, value) in properties {
            let result = rd_kafka_conf_set(conf, key, value, &errstr, errstr.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let text = String(decoding: errstr.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw KafkaError(.configuration, "\(key)=\(value): \(text)", function: "rd_kafka_conf_set")
            }
        }
        return conf
    }
}
