import CRDKafka
import Logging
import Synchronization

/// The Swift side of a librdkafka handle's C callbacks, reached through the handle's opaque pointer.
/// The owning client keeps it alive as long as the handle.
final class ClientCallbacks: Sendable {
    let logger: Logger
    let deliveryFailures = Atomic<Int>(0)
    let deliveries = Atomic<Int>(0)
    /// The last error librdkafka reported, and the first one that it cannot recover from.
    let errors = Mutex<(last: KafkaError?, fatal: KafkaError?)>((nil, nil))
    let assign: (@Sendable ([TopicPartition]) -> [TopicPartition: Int64]?)?
    let revoke: (@Sendable ([TopicPartition]) -> Void)?

    init(
        logger: Logger,
        assign: (@Sendable ([TopicPartition]) -> [TopicPartition: Int64]?)? = nil,
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
        rd_kafka_conf_set_error_cb(conf) { rk, err, reason, opaque in
            guard let callbacks = ClientCallbacks.from(opaque) else { return }
            var error = KafkaError(code: err, message: reason.map { String(cString: $0) } ?? "")
            if err == RD_KAFKA_RESP_ERR__FATAL.rawValue, let rk {
                var text = [CChar](repeating: 0, count: 512)
                let underlying = rd_kafka_fatal_error(rk, &text, text.count)
                error = KafkaError(code: underlying.rawValue, message: text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
            }
            let fatal = err == RD_KAFKA_RESP_ERR__FATAL.rawValue || err == RD_KAFKA_RESP_ERR__AUTHENTICATION.rawValue
            callbacks.errors.withLock { errors in
                errors.last = error
                if fatal, errors.fatal == nil { errors.fatal = error }
            }
            callbacks.logger.log(
                level: fatal ? .error : .warning, "kafka client error",
                metadata: ["kafka.error.code": "\(error.code)", "kafka.error": "\(error.message)"])
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
