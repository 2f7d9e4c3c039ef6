import CallAuditDomain
import CallAuditSimulator
import Foundation

/// `serve` as the console's browser suite meets it: a simulated day ingested through Kafka and
/// its reports issued and sealed; two persons with calls, one known by phone (for the access
/// request), one by e-mail with a recording under legal hold (for the erasure); then 10,000
/// reports and 10,000 requests besides, for the first paint to be measured over.
final class ConsoleWorld {
    static let phone = "+1 (415) 555-0100"
    static let email = "jane.doe@example.com"
    static let seeded = 10_000

    let api: RunningAPI

    init() throws {
        api = try RunningAPI()
        let messages = simulatedMessages(calls: 300, seed: 20) + Self.persons().map(Self.message)
        try api.kafka.produce(messages)
        guard waitUntil(seconds: 120, { (try? consumed(self.api.database)) == messages.count }) else {
            throw TestFailure("ingest did not take \(messages.count) messages: \(api.serve.standardError)")
        }
        guard try api.awaitReport("day-2026-11-23", seconds: 120) != nil else {
            throw TestFailure("the day's report was not issued: \(api.serve.standardError)")
        }
        try awaitSeals()
        try seedReports()
        try seedRequests()
    }

    /// What console_test.py reads from its environment.
    var suiteEnvironment: [String: String] {
        [
            "CONSOLE_BASE_URL": api.base, "CONSOLE_AUDITOR_TOKEN": api.tokens["auditor"]!, "CONSOLE_DPO_TOKEN": api.tokens["dpo"]!,
            "CONSOLE_OPS_TOKEN": api.tokens["ops"]!, "CONSOLE_PHONE": Self.phone, "CONSOLE_EMAIL": Self.email, "CALLAUDIT_BINARY": callauditBinary,
        ]
    }

    /// The phone's person on one recorded call; the e-mail's on two, the first recording under a legal hold,
    /// so that the erasure has something to hold back.
    private static func persons() -> [JSONValue] {
        let pat: JSONValue = ["phone": "+14155550100", "name": "Pat Caller"]
        let jane: JSONValue = ["email": .string(email), "name": "Jane Doe"]
        return Events.recordedCall("pat-1", at: "2026-11-23T09:00:00Z", parties: [Events.party("p", "customer", pat, jurisdiction: "DE")])
            + Events.recordedCall("jane-1", at: "2026-11-23T10:00:00Z", parties: [Events.party("p", "customer", jane, jurisdiction: "US-CA")])
            + Events.recordedCall("jane-2", at: "2026-11-23T11:00:00Z", parties: [Events.party("p", "customer", jane, jurisdiction: "US-CA")])
            + [Events.hold("H-CONSOLE", recordings: ["rec-jane-1"], at: "2026-11-23T12:00:00Z")]
    }

    private static func message(_ event: JSONValue) -> SimulatedMessage {
        let type = EventType(rawValue: event["type"]!.stringValue!)!
        return SimulatedMessage(topic: type.topic, key: "console", headers: [], value: event.canonicalBytes, time: Timestamp(microseconds: 0))
    }

    /// Waits for a seal over every event stored so far: the bundle's proofs cite the day's events inside seals.
    private func awaitSeals() throws {
        let head = try api.database.count("SELECT max(position) FROM events")
        guard waitUntil(seconds: 60, { (try? self.api.database.count("SELECT coalesce(max(through_position), 0) FROM seals")) ?? 0 >= head })
        else { throw TestFailure("no seal covered position \(head): \(api.serve.standardError)") }
    }

    /// 10,000 daily reports before the simulated day, as the owner inserts fixtures: each row a listing the API
    /// can read (the day's real signature and counts), with a stand-in body, since only listings are read of them.
    private func seedReports() throws {
        _ = try api.database.owner().query(
            """
            INSERT INTO audit_reports (report_id, version, kind, status, period_start, period_end, time_zone, generated_at, body,
                                       body_sha256, signature, key_id, findings_digest, findings, through_position)
            SELECT 'day-' || to_char(day, 'YYYY-MM-DD'), 1, 'day', 'final', day, day + interval '1 day', 'UTC', now(),
                   convert_to('{"seeded":true}', 'UTF8'), sha256(convert_to('{"seeded":true}', 'UTF8')), r.signature, r.key_id,
                   r.findings_digest, r.findings, r.through_position
            FROM audit_reports r,
                 generate_series(timestamptz '2026-11-22 00:00Z', timestamptz '2026-11-22 00:00Z' - ($1::integer - 1) * interval '1 day',
                                 interval '-1 day') AS day
            WHERE r.report_id = 'day-2026-11-23' AND r.version = 1
            ON CONFLICT DO NOTHING
            """, [.int(Self.seeded)])
    }

    /// 10,000 rows of the subject_requests projection (no stream behind them: only the list reads them).
    /// Twelve are open and months old, so overdue; the rest answered.
    private func seedRequests() throws {
        _ = try api.database.owner().query(
            """
            INSERT INTO subject_requests (request_id, kind, regime, channel, received_at, received_event_id, extended_at, status, closed_at)
            SELECT 'dsr-' || lpad(to_hex(n), 16, '0'), CASE WHEN n % 2 = 0 THEN 'access' ELSE 'erasure' END,
                   CASE WHEN n % 3 = 0 THEN 'ccpa' ELSE 'gdpr' END, 'api', received, 'seeded-' || n, NULL,
                   CASE WHEN n <= 12 THEN 'open' ELSE 'answered' END, CASE WHEN n <= 12 THEN NULL ELSE received + interval '10 days' END
            FROM generate_series(1, $1::integer) AS n, LATERAL (SELECT timestamptz '2026-09-01 00:00Z' - n * interval '1 hour' AS received) r
            """, [.int(Self.seeded)])
    }
}
