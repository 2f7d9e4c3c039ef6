import ArgumentParser
import Foundation
import CallAuditDomain
import CallAuditQueries
import CallAuditRendering

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
        let readSide = ReadSide(connection: try database.connect())
        let query = FindingQuery(from: instant(from)!, to: instant(to)!, rule: rule.flatMap(RuleID.init), includeWithdrawn: includeWithdrawn)
        if summary {
            let counts = try readSide.findingCounts(query)
            print("findings \(from) – \(to): \(counts.reduce(0) { $0 + $1.count })")
            for (rule, count) in counts { print("  " + pad(rule, 28) + String(count)) }
            return
        }
        let columns = FindingRow.columns
        var out = OutputBuffer()
        var first = true
        switch format {
        case .table: break
        case .csv: out.line(columns.joined(separator: ","))
        case .json: out.line("[")
        }
        try readSide.findings(query) { finding in
            switch format {
            case .table:
                out.line(pad(finding.occurredAt, 22) + pad(finding.rule, 26) + pad(finding.callID ?? finding.requestID ?? "", 22)
                    + pad(finding.recordingID ?? "", 20) + finding.detail)
            case .csv:
                out.line(finding.values.map { CSV.field($0 ?? "") }.joined(separator: ","))
            case .json:
                if !first { out.append(",\n") }
                out.append(finding.json.compactBytes)
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
