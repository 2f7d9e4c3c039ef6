import CallAuditDomain
import CallAuditStore

/// Which findings: those whose rule was broken in [from, to), optionally one rule, optionally withdrawn ones too.
package struct FindingQuery: Sendable {
    package var from: Timestamp
    package var to: Timestamp
    package var rule: RuleID?
    package var includeWithdrawn: Bool

    package init(from: Timestamp, to: Timestamp, rule: RuleID? = nil, includeWithdrawn: Bool = false) {
        self.from = from
        self.to = to
        self.rule = rule
        self.includeWithdrawn = includeWithdrawn
    }

    fileprivate var filter: String {
        """
        WHERE occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz
          AND ($3::text IS NULL OR rule = $3) AND (status = 'open' OR $4::boolean)
        """
    }

    fileprivate var parameters: [PostgresValue] {
        [.text(from.rfc3339), .text(to.rfc3339), rule.map { .text($0.rawValue) } ?? .null, .text(includeWithdrawn ? "true" : "false")]
    }
}

/// A finding as the read side gives it. Identifiers only, never personal data.
package struct FindingRow: Sendable {
    /// The column names, in the order `values` gives them.
    package static let columns = [
        "occurred_at", "rule", "severity", "status", "call_id", "recording_id", "party_id", "request_id", "jurisdiction",
        "citation", "evidence", "detail", "policy_version", "policy_hash", "finding_key",
    ]

    package var occurredAt: String
    package var rule: String
    package var severity: String
    package var status: String
    package var callID: String?
    package var recordingID: String?
    package var partyID: String?
    package var requestID: String?
    package var jurisdiction: String?
    package var citation: String
    package var evidence: [String]
    package var detail: String
    package var policyVersion: String
    package var policyHash: String
    package var findingKey: String
    /// A digest of everything a re-judgement can change; not part of the listing.
    package var fingerprint: String = ""

    /// The finding as `callaudit findings --format json` and audit reports give it:
    /// one member per column, evidence as an array of event ids, absent ids as null.
    package var json: JSONValue {
        .object(zip(Self.columns, values).map { column, value in
            (key: column, value: column == "evidence" ? .array(evidence.map { .string($0) }) : value.map { .string($0) } ?? .null)
        })
    }

    /// `json` in RFC 8785 canonical form, written directly: the members below
    /// are in canonical order (by name), so nothing is sorted or built.
    package func writeCanonical(into out: inout [UInt8]) {
        func member(_ name: StaticString, _ value: String?, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
            if let value { JSONValue.writeCanonicalString(value, into: &out) } else { out.append(contentsOf: "null".utf8) }
        }
        out.append(UInt8(ascii: "{"))
        member("call_id", callID, first: true)
        member("citation", citation)
        member("detail", detail)
        out.append(contentsOf: #","evidence":["#.utf8)
        for (index, id) in evidence.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONValue.writeCanonicalString(id, into: &out)
        }
        out.append(UInt8(ascii: "]"))
        member("finding_key", findingKey)
        member("jurisdiction", jurisdiction)
        member("occurred_at", occurredAt)
        member("party_id", partyID)
        member("policy_hash", policyHash)
        member("policy_version", policyVersion)
        member("recording_id", recordingID)
        member("request_id", requestID)
        member("rule", rule)
        member("severity", severity)
        member("status", status)
        out.append(UInt8(ascii: "}"))
    }

    /// Every column as text, evidence space-separated, in `columns` order.
    package var values: [String?] {
        [occurredAt, rule, severity, status, callID, recordingID, partyID, requestID, jurisdiction, citation,
         evidence.joined(separator: " "), detail, policyVersion, policyHash, findingKey]
    }
}

extension ReadSide {
    /// Streams the findings in occurrence order straight from libpq's buffer:
    /// a month of a large contact centre is tens of thousands of rows.
    package func findings(_ query: FindingQuery, _ body: (FindingRow) throws -> Void) throws {
        try connection.forEachRow(
            """
            SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), rule, severity, status, call_id,
                   recording_id, party_id, request_id, jurisdiction, citation, array_to_string(evidence, ' '), detail,
                   policy_version, policy_hash, finding_key, fingerprint
            FROM findings \(query.filter) ORDER BY occurred_at, rule, id
            """, query.parameters
        ) { row in
            try body(
                FindingRow(
                    occurredAt: try row.requiredString(0), rule: try row.requiredString(1), severity: try row.requiredString(2),
                    status: try row.requiredString(3),
                    callID: row.string(4), recordingID: row.string(5), partyID: row.string(6), requestID: row.string(7),
                    jurisdiction: row.string(8), citation: try row.requiredString(9),
                    evidence: try row.requiredString(10).split(separator: " ").map(String.init), detail: try row.requiredString(11),
                    policyVersion: try row.requiredString(12), policyHash: try row.requiredString(13),
                    findingKey: try row.requiredString(14), fingerprint: try row.requiredString(15)))
        }
    }

    /// How many findings each rule has in the query's period.
    package func findingCounts(_ query: FindingQuery) throws -> [(rule: String, count: Int)] {
        try connection.query("SELECT rule, count(*) FROM findings \(query.filter) GROUP BY rule ORDER BY rule", query.parameters)
            .decode((String, Int).self).map { (rule: $0, count: $1) }
    }
}
