import ArgumentParser
import CallAuditDomain
import CallAuditSimulator

/// The compliance rebuild's parse step alone: what the store keeps for the
/// projections benchmark's simulated log, built before the clock starts,
/// turned into `FactEvent`s by the tree (before issue 21) or by the scanner
/// (what `ComplianceRebuild.prepare` does now). For callgrind or a malloc
/// counter: run it with `--passes 1` and `--passes 0`; the difference over
/// the events is the cost per event.
struct FactScanBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fact-scan", abstract: "Turn a simulated log's stored events into compliance facts, by tree or by scanner.")

    enum Reader: String, ExpressibleByArgument {
        case tree
        case scan
    }

    @Option(help: "Calls to simulate over 30 days (about 6.2 events each), as `projections` does.") var calls = 20_000
    @Option(help: "tree: parse each event whole, then take its facts; scan: the scanner, falling back to the tree.") var reader: Reader = .scan
    @Option(help: "Times over the whole log.") var passes = 1

    func run() throws {
        let stored = Self.storedLog(calls: calls)
        var facts = 0
        let started = ContinuousClock.now
        for _ in 0..<passes {
            for json in stored {
                if try read(json) != nil { facts += 1 }
            }
        }
        let elapsed = started.duration(to: .now).inSeconds
        let events = stored.count * passes
        print("reader: \(reader.rawValue)  events: \(stored.count), mean \(stored.reduce(0) { $0 + $1.utf8.count } / max(stored.count, 1)) bytes  passes: \(passes)")
        print("facts: \(facts)  seconds: \(String(format: "%.3f", elapsed))  µs/event: \(String(format: "%.2f", events > 0 ? elapsed * 1e6 / Double(events) : 0))")
    }

    private func read(_ json: String) throws -> FactEvent? {
        switch reader {
        case .tree: FactEvent(try JSONParser.parse(json))
        case .scan: try FactScanner.factEvent(json)
        }
    }

    /// The stored (canonical) text of every event `projections` appends for `calls`.
    static func storedLog(calls: Int) -> [String] {
        var simulation = SimulationConfiguration()
        simulation.calls = calls
        simulation.spanSeconds = 30 * 86_400
        simulation.start = Timestamp(rfc3339: "2026-10-01T00:00:00Z")!
        let decoder = EventDecoder()
        var stored: [String] = []
        TrafficSimulator(configuration: simulation).generate { message in
            let incoming = IncomingMessage(headers: message.headers.map { (key: $0.key, value: Optional($0.value)) }, value: message.value)
            if case .success(let event) = decoder.decode(incoming) { stored.append(String(decoding: event.canonical, as: UTF8.self)) }
        }
        return stored
    }
}
