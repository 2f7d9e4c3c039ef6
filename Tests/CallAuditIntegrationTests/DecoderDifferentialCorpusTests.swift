import CallAuditDomain
import CallAuditSimulator
import Testing

/// The one-pass decoder against the tree decoder on the traffic the other
/// tests send: a simulated day (both CloudEvents modes, violations, malformed
/// and oversize messages) and the hostile-producer corpus. No database.
@Suite("The one-pass decoder agrees with the reference on simulated and hostile traffic")
struct DecoderDifferentialCorpusTests {
    @Test("a simulated day of traffic: same bytes, columns, subjects and verdicts; valid events of both modes take the fast path")
    func simulatedTraffic() throws {
        var configuration = SimulationConfiguration()
        configuration.calls = 400
        let now = configuration.start.adding(seconds: 86_400)
        let decoder = OnePassDecoder(reference: EventDecoder(clock: { now }))
        var (messages, fast, valid, binaryValid) = (0, 0, 0, 0)
        TrafficSimulator(configuration: configuration).generate { simulated in
            let message = IncomingMessage(
                headers: simulated.headers.map { (key: $0.key, value: Optional($0.value)) }, value: simulated.value,
                keyBytes: simulated.key.utf8.count)
            do {
                if try DecoderDifferential.check(message, with: decoder) { fast += 1 }
            } catch {
                Issue.record("simulated message \(messages) (\(simulated.topic)): \(error)")
            }
            let binary = simulated.headers.contains { $0.key == "ce_specversion" }
            if simulated.expectedRejection == nil {
                valid += 1
                if binary { binaryValid += 1 }
            }
            messages += 1
        }
        #expect(messages > 1_000)
        // Every valid event of the simulator is an ordinary event, in binary mode (ce_* headers) too.
        #expect(binaryValid > 100)
        #expect(fast == valid, "\(fast) of \(valid) valid events took the fast path")
    }

    @Test("the hostile-producer corpus")
    func hostileCorpus() throws {
        let decoder = OnePassDecoder(reference: EventDecoderProperties.decoder)
        for hostile in DatabaseTests.HostileProducerTests.corpus {
            do {
                try DecoderDifferential.check(hostile.incoming, with: decoder)
            } catch {
                Issue.record("hostile message \(hostile.name): \(error)")
            }
        }
    }
}
