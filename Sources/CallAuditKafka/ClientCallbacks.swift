import CRDKafka
import Logging
import Synchronization

/// The Swift side of a librdkafka handle's C callbacks, reached through the handle's opaque pointer.
/// The owning client keeps it alive as long as the handle.
final class ClientCallbacks: Sendable {
    let logger: Logger
    let deliveryFailures = Atomic<Int>(0)
    let deliveries = Atomic<Int>(0)
    let assign: (@Sendable ([TopicPartition]) -> [TopicPartition: Int64])?
    let revoke: (@Sendable ([TopicPartition]) -> Void)?

    init(
        logger: Logger,
        assign: (@Sendable ([TopicPartition]) -> [TopicPartition: Int64])? = nil,
        revoke: (@Sendable ([TopicPartition]) -> Void)? = nil
    ) {
        self.logger = logger
        self.assign = assign
        self.revoke = revoke
    }

    var opaque: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> ClientCallbacks? {
        opaque.map { Unmanaged<ClientCallbacks>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Installs the callbacks every client gets: errors and librdkafka's own log lines go to swift-log.
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, opaque)
        rd_kafka_conf_set_error_cb(conf) { _, err, reason, opaque in
            guard let callbacks = ClientCallbacks.from(opaque) else { return }
            let text = reason.map { String(cString: $0) } ?? ""
            callbacks.logger.warning("kafka client error", metadata: ["kafka.error.code": "\(err)", "kafka.error": "\(text)"])
        }
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, buffer in
            guard let rk, let callbacks = ClientCallbacks.from(rd_kafka_opaque(rk)) else { return }
            let text = buffer.map { String(cString: $0) } ?? ""
            let fac = facility.map { String(cString: $0) } ?? ""
            // syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug.
            let swiftLevel: Logger.Level = level <= 3 ? .error : level == 4 ? .warning : level <= 6 ? .info : .debug
            callbacks.logger.log(level: swiftLevel, "librdkafka: \(text)", metadata: ["kafka.facility": "\(fac)"])
        }
    }
}
