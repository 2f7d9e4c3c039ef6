import ArgumentParser
import CallAuditDomain
import CallAuditProjections
import CallAuditRequests
import CallAuditSigning
import CallAuditStore
import CallAuditVault
import Foundation
import Logging

/// The DPO's two operations at scale: finding a person by identifier among
/// millions of sealed events, and exporting a person with 10,000 events.
struct SubjectBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subjects",
        abstract: "Seal and append a simulated log, add one person with 1,000 calls, build the projections, then time lookups and the export.")

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Calls to simulate (about 6.2 events each; 1,610,000 make 10,000,000 events).")
    var calls = 1_610_000

    @Option(help: "Calls of the heavy person (10 events each).")
    var heavyCalls = 1_000

    @Option(help: "Lookups to time.")
    var lookups = 2_000

    func run() throws {
        let url = database.resolved
        try requireEmptyStore(url)
        let connection = try PostgresConnection(conninfo: url)
        let keys = try KeyEncryptionKeys.single(base64: Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())
        let vault = try SubjectVault.open(keys: keys, on: connection)

        note("sealing and appending the log: \(calls) calls")
        var phones: [String] = []
        let appendStarted = ContinuousClock.now
        let appended = try appendSimulatedLog(url: url, calls: calls, vault: vault) { event in
            guard phones.count < 100_000, event.typeName == EventType.callStarted.rawValue else { return }
            for party in event.document["data"]?["parties"]?.arrayValue ?? [] {
                if let phone = party["subject"]?["phone"]?.stringValue { phones.append(phone) }
            }
        }
        let appendRate = Double(appended) / appendStarted.duration(to: .now).inSeconds
        note("adding the heavy person: \(heavyCalls) calls")
        let heavy = try appendHeavyPerson(vault: vault, connection: connection)

        note("building the compliance and activity projections")
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let now = Timestamp(rfc3339: "2026-11-15T00:00:00Z")!
        for projection in [ComplianceProjection(policy: .default, clock: { now }), ActivityProjection(policy: .default)] as [any Projection] {
            _ = try ProjectionRunner(
                projection: projection, configuration: ProjectionConfiguration(database: DatabaseConfiguration(url: url).forMaintenance),
                logger: logger
            ).rebuild()
        }
        let events = Int(try connection.query("SELECT count(*) FROM events").scalar ?? "0") ?? 0
        let persons = try connection.query("SELECT (SELECT count(*) FROM subjects), (SELECT count(*) FROM subject_index)").rows[0]

        let lookup = try timeLookups(phones, vault: vault, connection: connection)
        let export = try timeExports(heavy: heavy, vault: vault, connection: connection)
        print("""
            machine:                   \(machineDescription())
            events:                    \(events) (sealed, appended at \(Int(appendRate)) events/s)
            persons / index entries:   \(persons[0]!) / \(persons[1]!)
            find by identifier:        p50 \(millis(lookup.find.p50)) ms, p99 \(millis(lookup.find.p99)) ms, max \(millis(lookup.find.max)) ms over \(lookup.count) lookups
            find and list their calls: p50 \(millis(lookup.calls.p50)) ms, p99 \(millis(lookup.calls.p99)) ms, max \(millis(lookup.calls.max)) ms
            export of \(heavy.events) events:   median \(millis(export.median)) ms, max \(millis(export.max)) ms over \(export.runs) runs (\(export.bytes) bytes ZIP, \(export.calls) calls)
            peak RSS:                  \(peakResidentMegabytes()) MB
            """)
    }

    struct Percentiles { var p50: Duration; var p99: Duration; var max: Duration }

    /// Random known persons, each by their phone in a different spelling than stored: blind index, then (second figure) their calls too.
    private func timeLookups(_ phones: [String], vault: SubjectVault, connection: PostgresConnection) throws -> (find: Percentiles, calls: Percentiles, count: Int) {
        var find: [Duration] = [], calls: [Duration] = []
        for _ in 0..<lookups {
            let phone = phones.randomElement()!
            let spelled = "\(phone.prefix(2)) (\(phone.dropFirst(2).prefix(3))) \(phone.dropFirst(5))"
            let started = ContinuousClock.now
            let identifier = Identifier(kind: "phone", value: spelled)!
            let refs = try vault.find([identifier], on: connection).refs
            let found = ContinuousClock.now
            let rows = try connection.query(
                "SELECT call_id FROM compliance_subject_calls WHERE subject_key = ANY($1::text[])", [.text(postgresArrayLiteral(refs))])
            let listed = ContinuousClock.now
            guard !refs.isEmpty, rows.count > 0 else { throw ValidationError("\(phone) was not found") }
            find.append(started.duration(to: found))
            calls.append(started.duration(to: listed))
        }
        func percentiles(_ values: [Duration]) -> Percentiles {
            let sorted = values.sorted()
            return Percentiles(p50: sorted[sorted.count / 2], p99: sorted[sorted.count * 99 / 100], max: sorted.last!)
        }
        return (percentiles(find), percentiles(calls), lookups)
    }

    private func timeExports(heavy: Heavy, vault: SubjectVault, connection: PostgresConnection) throws
        -> (median: Duration, max: Duration, runs: Int, bytes: Int, calls: Int)
    {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-bench-keys-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let signingKey = try KeyRing.open(folder).current
        let desk = RequestDesk(connection: connection, vault: vault, policy: .default)
        let actor = RequestActor(name: "bench", role: "dpo", channel: "cli")
        let request = try desk.open(kind: .access, regime: "gdpr", identifiers: SubjectIdentifiers(phone: heavy.phone), verifiedBy: "bench", by: actor)
        var times: [Duration] = []
        var bytes = 0, calls = 0
        for _ in 0..<7 {
            let started = ContinuousClock.now
            let package = try desk.export(request.id, signingKey: signingKey, by: actor)
            let zip = try package.zip()
            times.append(started.duration(to: .now))
            bytes = zip.count
            calls = (try JSONParser.parse(package.files[0].bytes))["calls"]?.arrayValue?.count ?? 0
        }
        guard calls == heavyCalls else { throw ValidationError("the export holds \(calls) calls, not \(heavyCalls)") }
        let sorted = times.sorted()
        return (sorted[sorted.count / 2], sorted.last!, sorted.count, bytes, calls)
    }

    struct Heavy { var phone: String; var events: Int }

    /// One person with `heavyCalls` calls of 10 events each: started, notice, consent, recording started,
    /// ended, stored, two accesses, a transfer and the deletion.
    private func appendHeavyPerson(vault: SubjectVault, connection: PostgresConnection) throws -> Heavy {
        let phone = "+15550000001"
        let store = EventStore(connection: connection)
        var events: [IncomingEvent] = []
        for n in 0..<heavyCalls {
            let call = "heavy-\(n)", recording = "heavy-rec-\(n)"
            let start = Timestamp(rfc3339: "2026-10-02T00:00:00Z")!.adding(seconds: Int64(n) * 2_000)
            func at(_ seconds: Int64) -> String { start.adding(seconds: seconds).rfc3339 }
            let person: JSONValue = ["phone": .string(phone), "email": "heavy.caller@example.com", "name": "Heavy Caller"]
            let documents: [(EventType, Int64, JSONValue)] = [
                (.callStarted, 0, ["call_id": .string(call), "direction": "inbound", "channel": "phone", "parties": [
                    ["party_id": "c", "role": "customer", "jurisdiction": "DE", "subject": person],
                    ["party_id": "a", "role": "agent", "jurisdiction": "DE", "subject": ["employee_id": "E1"]],
                ]]),
                (.noticePlayed, 1, ["call_id": .string(call), "party_id": .null, "method": "announcement"]),
                (.consentGiven, 2, ["call_id": .string(call), "party_id": "c", "method": "verbal", "scope": ["recording"]]),
                (.recordingStarted, 3, ["call_id": .string(call), "recording_id": .string(recording)]),
                (.callEnded, 300, ["call_id": .string(call)]),
                (.recordingStored, 310, ["call_id": .string(call), "recording_id": .string(recording), "storage_uri": "s3://r",
                                         "sha256": .string(String(repeating: "ab", count: 32)), "duration_seconds": 297, "bytes": 1_000]),
                (.recordingAccessed, 900, ["recording_id": .string(recording), "actor": ["id": "m1", "role": "manager"], "action": "play", "purpose": "quality_sample"]),
                (.recordingAccessed, 950, ["recording_id": .string(recording), "actor": ["id": "m2", "role": "legal"], "action": "download", "purpose": "legal_compliance"]),
                (.recordingShared, 1_000, ["recording_id": .string(recording), "actor": ["id": "m2", "role": "legal"],
                                          "recipient": ["organization": "Counsel LLP", "country": "GB"], "legal_basis": "adequacy", "purpose": "legal_compliance"]),
                (.recordingDeleted, 1_500, ["recording_id": .string(recording), "reason": "manual", "method": "purge", "actor": ["id": "s", "role": "system"]]),
            ]
            for (index, (type, seconds, data)) in documents.enumerated() {
                let document: JSONValue = [
                    "specversion": "1.0", "id": .string("\(call)-\(index)"), "source": "urn:bench", "type": .string(type.rawValue),
                    "time": .string(at(seconds)), "data": data,
                ]
                events.append(IncomingEvent(event: try EventDecoder.validate(document), origin: nil))
            }
        }
        for chunk in stride(from: 0, to: events.count, by: 5_000) {
            try store.append(IngestBatch(events: try vault.seal(Array(events[chunk..<min(chunk + 5_000, events.count)]), on: connection)), consumerGroup: "bench")
        }
        return Heavy(phone: phone, events: events.count)
    }
}
