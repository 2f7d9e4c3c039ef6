import ArgumentParser
import CallAuditTerminal
import CallAuditDomain
import CallAuditIntegrity
import CallAuditReports
import CallAuditSigning
import CallAuditStore
import Foundation

struct Reports: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, generate and export signed audit reports.", subcommands: [List.self, Generate.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The latest version of each report, newest period first.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "day, week, month, quarter or custom.") var kind: ReportPeriod.Kind?
        @Option(help: "Only periods ending after this date.") var from: String?
        @Option(help: "Only periods starting before this date.") var to: String?
        @Option(help: "final or provisional.") var status: String?

        func run() throws {
            let reports = try ReportStore(connection: try database.connect()).list(
                kind: kind, from: try from.map { try date($0, "--from") }, to: try to.map { try date($0, "--to") }, status: status)
            print(pad("report", 24) + pad("version", 9) + pad("status", 13) + pad("period", 44) + pad("findings", 10) + "key")
            for report in reports {
                print(pad(report.reportID, 24) + pad(String(report.version), 9) + pad(report.status, 13)
                    + pad("\(report.periodStart.rfc3339) – \(report.periodEnd.rfc3339)", 44) + pad(String(report.findings), 10) + report.signature.keyID)
            }
        }
    }

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a provisional report for any range now; prints its id and version.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var policy: PolicyOptions
        @OptionGroup var keys: KeyOptions
        @Option(help: "Start of the range (YYYY-MM-DD or RFC 3339), inclusive.") var from: String
        @Option(help: "End of the range (YYYY-MM-DD or RFC 3339), exclusive.") var to: String
        @Option(help: "Time zone of the per-day series.") var timeZone = "UTC"

        func run() throws {
            let (start, end) = (try date(from, "--from"), try date(to, "--to"))
            guard start < end else { throw ValidationError("--from must be before --to") }
            guard TimeZone(identifier: timeZone) != nil else { throw ValidationError("--time-zone \(timeZone) is not an IANA zone") }
            let progress = Progress("report", total: nil, unit: "findings")
            let report = try ReportGenerator(
                connection: try database.connect(), policy: try policy.load(), signingKey: try KeyRing.open(keys.directory).current,
                helper: try database.configuration().forMaintenance)
                .generate(.custom(from: start, to: end, timeZone: timeZone), status: .provisional)
            progress.finish(report.findings)
            print("\(report.reportID) \(report.version)")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a report's files: report.json (as signed), report.sig (64 raw bytes), signature.json, report.csv, report.html, proofs.json (each cited event's path to its seal), the public keys (keys.json, key-<key_id>.pem) and a README with the checks; the same files GET /v1/reports/{id}/bundle serves.",
            discussion: "The read is recorded as an audit.report_read event, like a read through the API.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var keys: KeyOptions
        @Argument(help: "The report id.") var id: String
        @Option(help: "A version other than the latest.") var version: Int?
        @Option(help: "The folder to write into.") var out: String

        func run() throws {
            let connection = try database.connect()
            guard let report = try ReportStore(connection: connection).report(id, version: version) else {
                throw ValidationError("no report \(id)\(version.map { " version \($0)" } ?? "")")
            }
            let reader = ProcessInfo.processInfo.environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "operator"
            let read = try OwnEventType.reportRead.event(
                data: ["report_id": .string(report.reportID), "version": .number(Double(report.version)), "format": "json",
                       "reader": ["name": .string("cli:\(reader)"), "role": "operator"], "channel": "cli"],
                at: .now)
            try EventStore(connection: connection).append(IngestBatch(events: [IncomingEvent(event: read, origin: nil)]), consumerGroup: "callaudit-cli")

            let folder = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let proofs = try InclusionProofs.document(for: try ReportFiles.citedEvents(report.body), on: connection)
            let published = (try? KeyRing.openExisting(keys.directory))?.published
            for file in try ReportFiles.files(of: report, proofs: proofs, keys: published) {
                try Data(file.bytes).write(to: folder.appendingPathComponent(file.name))
            }
            print("wrote \(report.reportID) version \(report.version) to \(folder.path)")
        }
    }
}

extension ReportPeriod.Kind: ExpressibleByArgument {}

private func date(_ text: String, _ flag: String) throws -> Timestamp {
    guard let value = Timestamp(rfc3339: text) ?? Timestamp(rfc3339: text + "T00:00:00Z") else {
        throw ValidationError("\(flag) \(text): use YYYY-MM-DD or an RFC 3339 date-time")
    }
    return value
}
