import CallAuditDomain
import CallAuditSimulator
import Foundation

/// The decode stage alone, on ordinary traffic: the simulator's valid
/// structured-mode events (what the fast path is for), built before the
/// clock starts, then decoded round-robin `events` times.
enum OrdinaryDecodeBench {
    static func run(events: Int, decoder kind: DecodeBench.DecoderKind) throws {
        let messages = corpus()
        let now = SimulationConfiguration().start.adding(seconds: 86_400)
        let reference = EventDecoder(clock: { now })
        let onePass = OnePassDecoder(reference: reference)
        var stored = 0
        let started = ContinuousClock.now
        for index in 0..<events {
            let message = messages[index % messages.count]
            let result = kind == .tree ? reference.decode(message) : onePass.decode(message)
            if case .success = result { stored += 1 }
        }
        let elapsed = started.duration(to: .now).inSeconds
        print("decoder: \(kind.rawValue)  messages: \(messages.count) distinct, mean \(messages.reduce(0) { $0 + ($1.value?.count ?? 0) } / max(messages.count, 1)) bytes")
        print("events: \(events)  stored: \(stored)  seconds: \(String(format: "%.3f", elapsed))  µs/event: \(String(format: "%.2f", events > 0 ? elapsed * 1e6 / Double(events) : 0))")
    }

    /// The simulator's default day, its valid structured-mode events only.
    static func corpus() -> [IncomingMessage] {
        var configuration = SimulationConfiguration()
        configuration.calls = 500
        var messages: [IncomingMessage] = []
        TrafficSimulator(configuration: configuration).generate { simulated in
            guard simulated.expectedRejection == nil, !simulated.headers.contains(where: { $0.key == "ce_specversion" }) else { return }
            messages.append(
                IncomingMessage(headers: simulated.headers.map { (key: $0.key, value: Optional($0.value)) }, value: simulated.value, keyBytes: simulated.key.utf8.count))
        }
        return messages
    }
}
