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
    /// Authentication and TLS failures since the brokers last answered (see `noteAuthenticationFailure`).
    let authOutage = Mutex<AuthenticationOutage?>(nil)
    /// How long authentication or TLS with the brokers may keep failing before it is fatal.
    let authGrace: Duration
    let assign: (@Sendable ([TopicPartition]) -> KafkaConsumer.AssignmentPlan?)?
    let revoke: (@Sendable ([TopicPartition]) -> Void)?

    init(
        logger: Logger, authGrace: Duration = KafkaConfiguration.defaultAuthGrace,
        assign: (@Sendable ([TopicPartition]) -> KafkaConsumer.AssignmentPlan?)? = nil,
        revoke: (@Sendable ([TopicPartition]) -> Void)? = nil
    ) {
        self.logger = logger
        self.authGrace = authGrace
        self.assign = assign
        self.revoke = revoke
    }

    /// Errors librdkafka reports when SASL authentication or the TLS handshake with a broker
    /// fails. They come and go with broker restarts, certificate roll-outs and identity-provider
    /// hiccups, and librdkafka reconnects with backoff by itself; only one that lasts is fatal.
    static let authenticationErrors: Set<Int32> = [
        RD_KAFKA_RESP_ERR__AUTHENTICATION.rawValue, RD_KAFKA_RESP_ERR__SSL.rawValue,
        RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED.rawValue,
    ]

    /// An authentication or TLS failure: fatal only once failures have gone on for `authGrace`
    /// without the brokers answering in between. A failure after a quiet spell (no such error for
    /// `AuthenticationOutage.quiet`) starts a new outage.
    func noteAuthenticationFailure(_ error: KafkaError, now: ContinuousClock.Instant = .now) -> KafkaError? {
        authOutage.withLock { outage in
            if let current = outage, current.last.duration(to: now) < AuthenticationOutage.quiet {
                outage!.last = now
            } else {
                outage = AuthenticationOutage(since: now, last: now)
            }
            let lasted = outage!.since.duration(to: now)
            guard lasted >= authGrace else { return nil }
            return KafkaError(
                code: error.code,
                message: "\(error.message) (failing for \(lasted.components.seconds) s without a broker answering, past --kafka-auth-grace)")
        }
    }

    /// The brokers answered (a message arrived): any authentication outage is over.
    func noteBrokersAnswered() {
        authOutage.withLock { $0 = nil }
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
            var fatal: KafkaError? = err == RD_KAFKA_RESP_ERR__FATAL.rawValue ? error : nil
            if ClientCallbacks.authenticationErrors.contains(err) {
                fatal = callbacks.noteAuthenticationFailure(error)
            }
            callbacks.errors.withLock { errors in
                errors.last = error
                if let fatal, errors.fatal == nil { errors.fatal = fatal }
            }
            callbacks.logger.log(
                level: fatal != nil ? .error : .warning,
                fatal == nil && ClientCallbacks.authenticationErrors.contains(err)
                    ? "kafka authentication or TLS failed; librdkafka retries with backoff" : "kafka client error",
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

/// Authentication or TLS failures that have not stopped since `since`.
struct AuthenticationOutage: Sendable {
    var since: ContinuousClock.Instant
    var last: ContinuousClock.Instant
    /// librdkafka retries a broker at most every 10 s (`reconnect.backoff.max.ms`) and holds back
    /// identical errors for up to 30 s: a minute without one means the failures stopped.
    static let quiet: Duration = .seconds(60)
}
