import Foundation
enum HarnessBench {
    static func corpus() -> [IncomingMessage] {
        var configuration = SimulationConfiguration()
        configuration.calls = 500
        var messages: [IncomingMessage] = []
        TrafficSimulator(configuration: configuration).generate { simulated in
            guard simulated.expectedRejection == nil, !simulated.headers.contains(where: { $0.key == "ce_specversion" }) else { return }
            messages.append(IncomingMessage(headers: simulated.headers.map { (key: $0.key, value: Optional($0.value)) }, value: simulated.value, keyBytes: simulated.key.utf8.count))
        }
        return messages
    }
    static func run(_ kind: String, _ events: Int) {
        let messages = corpus()
        if kind.hasPrefix("keep-") { return keep(kind, events, messages) }
        let now = SimulationConfiguration().start.adding(seconds: 86_400)
        let reference = EventDecoder(clock: { now })
        let onePass = OnePassDecoder(reference: reference)
        var stored = 0
        let started = ContinuousClock.now
        for index in 0..<events {
            let message = messages[index % messages.count]
            switch kind {
            case "tree": if case .success = reference.decode(message) { stored += 1 }
            case "scan": if onePass.scan(message) { stored += 1 }
            case "columns": if onePass.scan(message) { stored += onePass.columns().id.isEmpty ? 0 : 1 }
            default: if case .success = onePass.decode(message) { stored += 1 }
            }
        }
        let elapsed = started.duration(to: .now)
        print("\(kind) messages \(messages.count) mean bytes \(messages.reduce(0) { $0 + $1.value!.count } / messages.count) events \(events) stored \(stored) \(elapsed)")
    }

    /// Decodes `events` events and keeps them all, as ingest keeps the batches in flight; prints the peak RSS.
    ///   h keep-tree N | h keep-decode N
    static func keep(_ kind: String, _ events: Int, _ messages: [IncomingMessage]) {
        let now = SimulationConfiguration().start.adding(seconds: 86_400)
        let reference = EventDecoder(clock: { now })
        let onePass = OnePassDecoder(reference: reference)
        var kept: [DecodedEvent] = []
        kept.reserveCapacity(events)
        for index in 0..<events {
            let message = messages[index % messages.count]
            let result = kind == "keep-tree" ? reference.decode(message) : onePass.decode(message)
            if case .success(let event) = result { kept.append(event) }
        }
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM") } ?? "VmHWM: ?"
        print("\(kind) kept \(kept.count) events, canonical bytes \(kept.reduce(0) { $0 + $1.canonical.count }), \(peak)")
    }
}
