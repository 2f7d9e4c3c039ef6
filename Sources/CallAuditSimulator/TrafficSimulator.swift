import CallAuditDomain

/// What to simulate. The defaults make a plausible contact-center day.
package struct SimulationConfiguration: Sendable {
    /// Same seed, same stream, byte for byte.
    package var seed: UInt64 = 42
    /// Start of the simulated span.
    package var start = Timestamp(seconds: 1_795_392_000)  // 2026-11-23T00:00:00Z
    /// Length of the simulated span in seconds. Default one day.
    package var spanSeconds: Int64 = 86_400
    package var calls = 2_000
    /// Share of calls that break one compliance rule.
    package var violationRate = 0.05
    /// Share of calls followed by one malformed message.
    package var malformedRate = 0.01
    /// Share of valid events sent in CloudEvents binary mode.
    package var binaryModeRate = 0.3
    /// Events are delayed by up to this much, so a call's events interleave across topics out of order.
    package var maxJitterSeconds: Int64 = 3
    /// Size of the oversize samples; above the ingest's default limit.
    package var oversizeBytes = 300_000

    package init() {}
}

/// Generates a realistic stream of call, consent, access and deletion events,
/// call by call, in bounded memory.
package struct TrafficSimulator {
    package let configuration: SimulationConfiguration

    package init(configuration: SimulationConfiguration) {
        self.configuration = configuration
    }

    /// Emits every message in roughly time order: calls are generated in
    /// windows of 100 and each window is ordered by jittered event time.
    package func generate(_ emit: (SimulatedMessage) throws -> Void) rethrows {
        var rng = SeededRandom(seed: configuration.seed)
        var window: [SimulatedMessage] = []
        let step = max(configuration.spanSeconds * 1_000_000 / Int64(max(configuration.calls, 1)), 1)
        for index in 0..<configuration.calls {
            let offset = Int64(index) * step + Int64.random(in: 0..<step, using: &rng)
            var call = CallScenario(
                index: index, start: Timestamp(microseconds: configuration.start.microseconds + offset), rng: rng,
                configuration: configuration)
            window.append(contentsOf: call.messages())
            rng = call.rng
            if window.count > 2_000 || index == configuration.calls - 1 {
                var jittered = window.map { message in
                    (message, message.time.microseconds + Int64.random(in: 0...configuration.maxJitterSeconds * 1_000_000, using: &rng))
                }
                jittered.sort { $0.1 < $1.1 }
                for (message, _) in jittered { try emit(message) }
                window.removeAll(keepingCapacity: true)
            }
        }
    }
}
