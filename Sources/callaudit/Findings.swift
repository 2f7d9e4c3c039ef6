import ArgumentParser
import Foundation
import CallAuditDomain
import CallAuditStore

struct Findings: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List compliance findings whose rule was broken in a period.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json, csv }

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Start of the period (YYYY-MM-DD or RFC 3339), inclusive.") var from: String
    @Option(help: "End of the period (YYYY-MM-DD or RFC 3339), exclusive.") var to: String
    @Option(help: "Only this rule (e.g. CONSENT_MISSING).") var rule: String?
    @Option(help: "table, json or csv.") var format: Format = .table
    @Flag(help: "Include findings that later events withdrew.") var includeWithdrawn = false
    @Flag(help: "Counts by rule instead of the findings.") var summary = false

    func validate() throws {
        guard instant(from) != nil else { throw ValidationError("--from \(from): use YYYY-MM-DD or an RFC 3339 date-time") }
        guard instant(to) != nil else { throw ValidationError("--to \(to): use YYYY-MM-DD or an RFC 3339 date-time") }
        if let rule, RuleID(rawValue: rule) == nil {
            throw ValidationError("--rule \(rule): one of \(RuleID.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        let connection = try PostgresConnection(conninfo: database.resolved)
        let filter = """
            WHERE occurred_at >= $1::timestamptz AND occurred_at < $2::timestamptz
              AND ($3::text IS NULL OR rule = $3) AND (status = 'open' OR $4::boolean)
            """
        let parameters: [PostgresValue] = [
            .text(instant(from)!.rfc3339), .text(instant(to)!.rfc3339), rule.map { .text($0) } ?? .null,
            .text(includeWithdrawn ? "true" : "false"),
        ]
        if summary {
            let rows = try connection.query("SELECT rule, count(*) FROM findings \(filter) GROUP BY rule ORDER BY rule", parameters)
            print("findings \(from) – \(to): \(rows.rows.reduce(0) { $0 + Int($1[1]!)! })")
            for row in rows { print("  " + pad(row[0]!, 28) + row[1]!) }
            return
        }
        let columns = ["occurred_at", "rule", "severity", "status", "call_id", "recording_id", "party_id", "request_id",
                       "jurisdiction", "citation", "evidence", "detail", "policy_version", "policy_hash"]
        // Rows stream from libpq's buffer into one output buffer: a month of a
        // large contact centre is tens of thousands of findings.
        var out = OutputBuffer()
        var first = true
        switch format {
        case .table: break
        case .csv: out.line(columns.joined(separator: ","))
        case .json: out.line("[")
        }
        try connection.forEachRow(
            """
            SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), rule, severity, status, call_id,
                   recording_id, party_id, request_id, jurisdiction, citation, array_to_string(evidence, ' '), detail,
                   policy_version, policy_hash
            FROM findings \(filter) ORDER BY occurred_at, rule, id
            """, parameters
        ) { result in
            let row = (0..<columns.count).map { result.string($0) }
            switch format {
            case .table:
                out.line(pad(row[0]!, 22) + pad(row[1]!, 26) + pad(row[4] ?? row[7] ?? "", 22) + pad(row[5] ?? "", 20) + (row[11] ?? ""))
            case .csv:
                out.line(row.map { csvField($0 ?? "") }.joined(separator: ","))
            case .json:
                if !first { out.append(",\n") }
                out.append(JSONValue.object(zip(columns, row).map { (key: $0, value: $1.map { .string($0) } ?? .null) }).compactBytes)
            }
            first = false
        }
        if format == .json { out.line(first ? "]" : "\n]") }
        out.flush()
    }
}

/// Bytes for standard output, written a megabyte at a time instead of a `print` per line.
private struct OutputBuffer {
    private var bytes: [UInt8] = []

    mutating func append(_ text: String) { append(Array(text.utf8)) }

    mutating func append(_ encoded: [UInt8]) {
        bytes.append(contentsOf: encoded)
        if bytes.count >= 1 << 20 { flush() }
    }

    mutating func line(_ text: String) {
        append(text)
        append([0x0A])
    }

    mutating func flush() {
        FileHandle.standardOutput.write(Data(bytes))
        bytes.removeAll(keepingCapacity: true)
    }
}

private func instant(_ text: String) -> Timestamp? {
    Timestamp(rfc3339: text) ?? Timestamp(rfc3339: text + "T00:00:00Z")
}

private func csvField(_ value: String) -> String {
    value.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D })
        ? "\"" + value.replacing("\"", with: "\"\"") + "\"" : value
}
