import CallAuditDomain
import CallAuditSimulator
import Foundation

/// `serve` as the console's browser suite meets it: a simulated day, yesterday (UTC), ingested
/// through Kafka, its report issued and sealed, so the newest day's report holds the traffic;
/// two persons with calls that day, one known by phone (for the access request), one by e-mail
/// with a recording under legal hold (for the erasure); then 10,000 earlier daily reports and
/// 10,000 requests besides, for the first paint to be measured over.
final class ConsoleWorld {
    static let phone = "+1 (415) 555-0100"
    static let email = "jane.doe@example.com"
    static let seeded = 10_000

    let api: RunningAPI
    /// Yesterday, 00:00 UTC: the newest day a report is issued for (`serve` closes a day at once here).
    let day = Timestamp(seconds: (Timestamp.now.microseconds / 86_400_000_000 - 1) * 86_400)

    init() throws {
        api = try RunningAPI()
        let messages = simulatedDay(calls: 300) + persons().map(Self.message)
        try api.kafka.produce(messages)
        guard waitUntil(seconds: 120, { (try? consumed(self.api.database)) == messages.count }) else {
            throw TestFailure("ingest did not take \(messages.count) messages: \(api.serve.standardError)")
        }
        guard try api.awaitReport(dayReport, seconds: 120) != nil else {
            throw TestFailure("\(dayReport) was not issued: \(api.serve.standardError)")
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

    var dayReport: String { "day-" + String(day.rfc3339.prefix(10)) }

    /// The simulator's traffic over `day`, as the platform would publish it.
    private func simulatedDay(calls: Int) -> [SimulatedMessage] {
        var configuration = SimulationConfiguration()
        configuration.start = day
        configuration.spanSeconds = 86_400 - 3_600  // the last calls end, and their recordings are stored, within the day
        configuration.calls = calls
        configuration.seed = 20
        configuration.malformedRate = 0
        var messages: [SimulatedMessage] = []
        TrafficSimulator(configuration: configuration).generate { messages.append($0) }
        return messages
    }

    /// The phone's person on one recorded call; the e-mail's on two, the first recording under a legal hold,
    /// so that the erasure has something to hold back.
    private func persons() -> [JSONValue] {
        func at(_ hour: Int64) -> String { day.adding(seconds: hour * 3_600).rfc3339 }
        let pat: JSONValue = ["phone": "+14155550100", "name": "Pat Caller"]
        let jane: JSONValue = ["email": .string(Self.email), "name": "Jane Doe"]
        return Events.recordedCall("pat-1", at: at(9), parties: [Events.party("p", "customer", pat, jurisdiction: "DE")])
            + Events.recordedCall("jane-1", at: at(10), parties: [Events.party("p", "customer", jane, jurisdiction: "US-CA")])
            + Events.recordedCall("jane-2", at: at(11), parties: [Events.party("p", "customer", jane, jurisdiction: "US-CA")])
            + [Events.hold("H-CONSOLE", recordings: ["rec-jane-1"], at: at(12))]
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
    /// (A day already reported, none here, is left alone.)
    private func seedReports() throws {
        _ = try api.database.owner().query(
            """
            INSERT INTO audit_reports (report_id, version, kind, status, period_start, period_end, time_zone, generated_at, body,
                                       body_sha256, signature, key_id, findings_digest, findings, through_position)
            SELECT 'day-' || to_char(day AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 1, 'day', 'final', day, day + interval '1 day', 'UTC', now(),
                   convert_to('{"seeded":true}', 'UTF8'), sha256(convert_to('{"seeded":true}', 'UTF8')), r.signature, r.key_id,
                   r.findings_digest, r.findings, r.through_position
            FROM audit_reports r,
                 generate_series($2::timestamptz - interval '1 day', $2::timestamptz - $1::integer * interval '1 day', interval '-1 day') AS day
            WHERE r.report_id = $3 AND r.version = 1
            ON CONFLICT DO NOTHING
            """, [.int(Self.seeded), .text(day.rfc3339), .text(dayReport)])
    }

    /// 10,000 rows of the subject_requests projection (no stream behind them: only the list reads them).
    /// Twelve are open and over three months old, so overdue; the rest answered.
    private func seedRequests() throws {
        _ = try api.database.owner().query(
            """
            INSERT INTO subject_requests (request_id, kind, regime, channel, received_at, received_event_id, extended_at, status, closed_at)
            SELECT 'dsr-' || lpad(to_hex(n), 16, '0'), CASE WHEN n % 2 = 0 THEN 'access' ELSE 'erasure' END,
                   CASE WHEN n % 3 = 0 THEN 'ccpa' ELSE 'gdpr' END, 'api', received, 'seeded-' || n, NULL,
                   CASE WHEN n <= 12 THEN 'open' ELSE 'answered' END, CASE WHEN n <= 12 THEN NULL ELSE received + interval '10 days' END
            FROM generate_series(1, $1::integer) AS n, LATERAL (SELECT date_trunc('hour', now()) - interval '100 days' - n * interval '1 hour' AS received) r
            """, [.int(Self.seeded)])
    }
}
