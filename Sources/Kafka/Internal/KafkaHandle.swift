// AuditTrail — Kafka module
// SPDX-License-Identifier: Apache-2.0

import CRdKafka
import Logging

/// Owns one `rd_kafka_t` and destroys it in `deinit`.
///
/// librdkafka documents `rd_kafka_t` as thread-safe; what callers must still order themselves
/// (rebalance, commit, close) is kept to one owner by ``Consumer`` and ``Producer``.
final class KafkaHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    /// Context reachable from C callbacks through `rd_kafka_opaque`. Declared after `pointer`
    /// and released only after `rd_kafka_destroy` in `deinit`, so callbacks never see it freed.
    let context: HandleContext
    private let retainedContext: Unmanaged<HandleContext>
    /// Flags for `rd_kafka_destroy_flags`, settable by the owner before release.
    var destroyFlags: Int32 = 0
    /// Set by ``keepUndestroyed()``: `deinit` leaves the librdkafka handle alone.
    private var kept = false

    init(role: KafkaConfiguration.Role, configuration: KafkaConfiguration, context: HandleContext,
         prepare: (OpaquePointer) -> Void = { _ in }) throws(KafkaError) {
        let conf = try configuration.makeConf(role: role)
        self.context = context
        self.retainedContext = Unmanaged.passRetained(context)
        rd_kafka_conf_set_opaque(conf, retainedContext.toOpaque())
        rd_kafka_conf_set_log_cb(conf, kafkaLogCallback)
        prepare(conf)
        var errstr = [CChar](repeating: 0, count: 512)
        let type = role == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
            rd_kafka_conf_destroy(conf)
            retainedContext.release()
            let text = String(decoding: errstr.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw KafkaError(.configuration, text, function: "rd_kafka_new")
        }
        self.pointer = rk
    }

    deinit {
        guard !kept else { return }
        rd_kafka_destroy_flags(pointer, destroyFlags)
        retainedContext.release()
    }

    /// Never destroys the librdkafka handle, for a handle whose destruction would abort the
    /// process (librdkafka #4312, see ``Consumer``). Its threads and memory stay for the life of
    /// the process, its context with them (callbacks may still use it); its logs are silenced,
    /// since nobody owns it any more.
    func keepUndestroyed() {
        kept = true
        rd_kafka_set_log_level(pointer, 0)
    }

    /// The client's name as librdkafka reports it (e.g. `rdkafka#consumer-1`).
    var name: String { String(cString: rd_kafka_name(pointer)) }
}

/// State shared with librdkafka's threads through the handle's opaque pointer.
class HandleContext: @unchecked Sendable {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }
}

/// librdkafka's log callback: runs on librdkafka threads, only forwards to swift-log.
private func kafkaLogCallback(rk: OpaquePointer?, level: Int32, fac: UnsafePointer<CChar>?, buf: UnsafePointer<CChar>?) {
    guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
    let context = Unmanaged<HandleContext>.fromOpaque(opaque).takeUnretainedValue()
    let message = buf.map { String(cString: $0) } ?? ""
    let facility = fac.map { String(cString: $0) } ?? ""
    let logLevel: Logger.Level =
        switch level {
        case ...3: .error
        case 4: .warning
        case 5, 6: .info
        default: .debug
        }
    context.logger.log(level: logLevel, "\(message)", metadata: ["kafka.facility": "\(facility)"])
}
