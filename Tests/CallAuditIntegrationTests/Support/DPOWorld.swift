import CallAuditDomain
import CallAuditProjections
import CallAuditRequests
import CallAuditSigning
import CallAuditStore
import CallAuditVault
import Foundation
import Testing

/// A store with the vault, the compliance, activity and subject-request projections and a
/// request desk, on a clock the test sets: events go in sealed exactly as
/// ingest seals them.
final class DPOWorld: @unchecked Sendable {
    let database: TestDatabase
    let connection: PostgresConnection
    let vault: SubjectVault
    var now: Timestamp
    private var runners: [ProjectionRunner] = []
    let signingKeys: KeyRing
    let keyDirectory: URL

    init(now: Timestamp = Timestamp(rfc3339: "2026-11-24T12:00:00Z")!) throws {
        database = try TestDatabase.create()
        connection = try PostgresConnection(conninfo: database.serviceURL)
        vault = try SubjectVault.open(keys: testKeys, on: connection)
        self.now = now
        let clock = Clock(now)
        self.clock = clock
        keyDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)")
        signingKeys = try KeyRing.open(keyDirectory)
        restartProjections()
    }

    /// Fresh runners, as after a service restart: the old ones go with their leadership, the new ones go on from the checkpoints.
    func restartProjections() {
        let clock = clock
        runners = [
            ProjectionRunner(projection: ComplianceProjection(policy: .default, clock: { clock.now }), databaseURL: database.serviceURL, logger: quietLogger),
            ProjectionRunner(projection: ActivityProjection(policy: .default), databaseURL: database.serviceURL, logger: quietLogger),
            ProjectionRunner(projection: SubjectRequestProjection(), databaseURL: database.serviceURL, logger: quietLogger),
        ]
    }

    private let clock: Clock

    /// The projections' clock moves with `now`.
    final class Clock: @unchecked Sendable {
        var now: Timestamp
        init(_ now: Timestamp) { self.now = now }
    }

    func advance(to time: Timestamp) {
        now = time
        clock.now = time
    }

    var desk: RequestDesk { RequestDesk(connection: connection, vault: vault, policy: .default) }
    let dpo = RequestActor(name: "test-dpo", role: "dpo", channel: "cli")

    /// Validates, seals and stores contract events, then brings the projections up to date.
    func ingest(_ events: [JSONValue]) throws {
        let decoded = try events.map { IncomingEvent(event: try EventDecoder.validate($0), origin: nil) }
        try EventStore(connection: connection).append(IngestBatch(events: try vault.seal(decoded, on: connection)), consumerGroup: "test")
        try project()
    }

    /// Every runner caught up with all that is committed (`catchUpWithTheLog`).
    func project() throws {
        for runner in runners { try runner.catchUpWithTheLog(of: database) }
    }

    func rebuild() throws {
        for runner in runners { try runner.rebuild() }
    }

    /// The rows of `sql` as the projections hold them, then after a rebuild of every projection.
    func incrementalAndRebuilt(_ sql: String) throws -> (incremental: [[String?]], rebuilt: [[String?]]) {
        let incremental = try connection.query(sql).rows
        try rebuild()
        return (incremental, try connection.query(sql).rows)
    }

    func openFindings(_ rule: String) throws -> [[String?]] {
        try connection.query(
            "SELECT request_id, recording_id, occurred_at::text FROM findings WHERE status = 'open' AND rule = $1 ORDER BY 1, 2", [.text(rule)]
        ).rows
    }

    /// The files of an export ZIP by name.
    func unzip(_ package: ExportPackage) throws -> [String: String] {
        var files = Dictionary(uniqueKeysWithValues: package.files.map { ($0.name, String(decoding: $0.bytes, as: UTF8.self)) })
        files["manifest.json"] = String(decoding: package.manifest, as: UTF8.self)
        return files
    }

    func drop() {
        database.drop()
        try? FileManager.default.removeItem(at: keyDirectory)
    }
}

/// Contract events for the DPO tests, as a platform would send them.
enum Events {
    static func event(_ id: String, _ type: EventType, _ time: String, _ data: JSONValue) -> JSONValue {
        ["specversion": "1.0", "id": .string(id), "source": "urn:pbx:test", "type": .string(type.rawValue), "time": .string(time), "data": data]
    }

    static func party(_ id: String, _ role: String, _ subject: JSONValue, jurisdiction: String = "DE") -> JSONValue {
        ["party_id": .string(id), "role": .string(role), "jurisdiction": .string(jurisdiction), "subject": subject]
    }

    /// A recorded call: started with its parties, a notice to all, consent from each non-agent, recording started and stored.
    static func recordedCall(_ call: String, at start: String, parties: [JSONValue], recording: String? = nil) -> [JSONValue] {
        let recording = recording ?? "rec-\(call)"
        let time = Timestamp(rfc3339: start)!
        func plus(_ seconds: Int64) -> String { time.adding(seconds: seconds).rfc3339 }
        var events: [JSONValue] = [
            event("\(call)-start", .callStarted, start, ["call_id": .string(call), "direction": "inbound", "channel": "phone", "parties": .array(parties)]),
            event("\(call)-notice", .noticePlayed, plus(1), ["call_id": .string(call), "party_id": .null, "method": "announcement"]),
        ]
        for party in parties where party["role"]?.stringValue != "agent" {
            let partyID = party["party_id"]!
            events.append(event("\(call)-consent-\(partyID.stringValue!)", .consentGiven, plus(2), [
                "call_id": .string(call), "party_id": partyID, "method": "verbal", "scope": ["recording"],
            ]))
        }
        events += [
            event("\(call)-rec", .recordingStarted, plus(3), ["call_id": .string(call), "recording_id": .string(recording)]),
            event("\(call)-end", .callEnded, plus(300), ["call_id": .string(call)]),
            event("\(call)-stored", .recordingStored, plus(310), [
                "call_id": .string(call), "recording_id": .string(recording), "storage_uri": .string("s3://recordings/\(recording)"),
                "sha256": .string(String(repeating: "ab", count: 32)), "duration_seconds": 297, "bytes": 1_000_000,
            ]),
        ]
        return events
    }

    static func access(_ id: String, _ recording: String, at time: String, role: String = "manager", purpose: String = "quality_sample") -> JSONValue {
        event(id, .recordingAccessed, time, [
            "recording_id": .string(recording), "actor": ["id": "staff-17", "role": .string(role)], "action": "play", "purpose": .string(purpose),
        ])
    }

    static func share(_ id: String, _ recording: String, at time: String) -> JSONValue {
        event(id, .recordingShared, time, [
            "recording_id": .string(recording), "actor": ["id": "staff-3", "role": "legal"],
            "recipient": ["organization": "Outside Counsel LLP", "country": "GB"], "legal_basis": "adequacy", "purpose": "legal_compliance",
        ])
    }

    static func hold(_ id: String, recordings: [String], at time: String) -> JSONValue {
        event("hold-\(id)", .legalHoldPlaced, time, [
            "hold_id": .string(id), "recording_ids": .array(recordings.map(JSONValue.string)), "case_ref": "LIT-1", "actor": ["id": "legal-1", "role": "legal"],
        ])
    }

    /// An erasure request from the platform, under GDPR, for whoever holds `phone`.
    static func erasure(_ requestID: String, at time: String, phone: String = "+4930123456") -> JSONValue {
        event("opened-\(requestID)", .subjectErasureRequested, time, [
            "request_id": .string(requestID), "subject": ["phone": .string(phone)], "regime": "gdpr",
        ])
    }

    static func deletion(_ recording: String, at time: String) -> JSONValue {
        event("del-\(recording)", .recordingDeleted, time, [
            "recording_id": .string(recording), "reason": "erasure_request", "method": "purge", "actor": ["id": "svc", "role": "system"],
        ])
    }
}
