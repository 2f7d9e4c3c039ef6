import CallAuditDomain
import CallAuditStore
import Foundation
import Testing

/// The API the web console reads (issue 20), against a running `serve`:
/// who is signed in, reports a page at a time, a report's versions, and the
/// evidence bundle checked offline as its README says.
extension DatabaseTests {
@Suite("The console's API: whoami, report pages, versions, the evidence bundle")
struct ConsoleAPITests {
    @Test("whoami names each role's token; reports page by keyset cursor; forged cursors and limits are 400s naming the parameter; versions newest first")
    func whoamiPagesAndVersions() throws {
        let api = try RunningAPI()
        try api.append(simulatedEvents(calls: 40))
        _ = try #require(try api.awaitReport("day-2026-11-23"))
        for (role, token) in api.tokens {
            let me = try api.get("/v1/whoami", token: token)
            #expect(me.status == 200 && me.json?["role"]?.stringValue == role && me.json?["name"]?.stringValue == "\(role)-1", "\(me.text)")
        }
        let auditor = api.tokens["auditor"]!
        // A few on-demand reports besides the scheduled ones, so there are pages to walk.
        for day in 24...26 {
            let made = try api.request("POST", "/v1/reports", token: auditor, body: Array(#"{"from":"2026-11-\#(day)","to":"2026-11-\#(day + 1)"}"#.utf8))
            #expect(made.status == 201, "\(made.text)")
        }
        let all = try api.get("/v1/reports", token: auditor)
        #expect(all.json?["next"] == .null && all.headers["link"] == nil)
        let everyID = try #require(all.json?["reports"]?.arrayValue).compactMap { $0["report_id"]?.stringValue }
        #expect(everyID.count >= 4)

        var walked: [String] = []
        var path = "/v1/reports?limit=2"
        while true {
            let page = try api.get(path, token: auditor)
            #expect(page.status == 200, "\(page.text)")
            walked += (page.json?["reports"]?.arrayValue ?? []).compactMap { $0["report_id"]?.stringValue }
            guard let next = page.json?["next"]?.stringValue else { break }
            #expect(page.headers["link"] == "</v1/reports?limit=2&after=\(next)>; rel=\"next\"")
            path = "/v1/reports?limit=2&after=\(next)"
        }
        #expect(walked == everyID, "pages in order, none repeated, none missed")

        let forged = Data("reports|not-a-number|x".utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        for (query, parameter) in [("limit=0", "limit"), ("limit=501", "limit"), ("after=%2A%2A", "after"), ("after=\(forged)", "after"),
                                   ("after=cmVxdWVzdHN8MXxy", "after"), ("after=" + String(repeating: "A", count: 2_000), "after")] {
            let refused = try api.get("/v1/reports?\(query)", token: auditor)
            #expect(refused.status == 400 && refused.headers["content-type"] == "application/problem+json", "\(query): \(refused.status)")
            #expect(refused.json?["detail"]?.stringValue?.hasPrefix(parameter) == true, "\(query): \(refused.text)")
        }

        let versions = try api.get("/v1/reports/day-2026-11-23/versions", token: auditor)
        #expect(versions.status == 200 && versions.json?["report_id"]?.stringValue == "day-2026-11-23")
        let first = try #require(versions.json?["versions"]?.arrayValue?.last)
        #expect(first["version"]?.numberValue == 1 && first["key_id"]?.stringValue?.isEmpty == false && first["sha256"]?.stringValue?.count == 64)
        #expect(try api.get("/v1/reports/no-such-report/versions", token: auditor).status == 404)
        #expect(try api.get("/v1/reports/day-2026-11-23/versions", token: api.tokens["dpo"]).status == 403)
    }

    @Test("the bundle, downloaded over HTTP and unpacked with tar, checks with the README's exact openssl and callaudit verify commands; the read is recorded")
    func bundle() throws {
        let api = try RunningAPI()
        try api.append(simulatedEvents(calls: 120))
        _ = try #require(try api.awaitReport("day-2026-11-23"))
        let reply = try api.get("/v1/reports/day-2026-11-23/bundle", token: api.tokens["auditor"])
        #expect(reply.status == 200 && reply.headers["content-type"] == "application/x-tar")
        #expect(reply.headers["content-disposition"] == "attachment; filename=\"callaudit-day-2026-11-23-v1.tar\"")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bundle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(reply.body).write(to: folder.appendingPathComponent("bundle.tar"))
        let unpacked = try runTool("/usr/bin/tar", ["-xf", "bundle.tar"], in: folder)
        #expect(unpacked.status == 0, "\(unpacked.output)")

        let keyID = try #require(try api.get("/v1/reports/day-2026-11-23/signature", token: api.tokens["auditor"]).json?["key_id"]?.stringValue)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0 != "bundle.tar" }.sorted()
        #expect(names == ["README.md", "key-\(keyID).pem", "keys.json", "proofs.json", "report.csv", "report.html", "report.json", "report.sig", "signature.json"])
        let served = try api.get("/v1/reports/day-2026-11-23", token: api.tokens["auditor"])
        #expect(Array(try Data(contentsOf: folder.appendingPathComponent("report.json"))) == served.body, "report.json is the signed bytes")
        #expect(try Data(contentsOf: folder.appendingPathComponent("report.sig")).count == 64)
        let proofs = try JSONParser.parse(Array(try Data(contentsOf: folder.appendingPathComponent("proofs.json"))))
        #expect((proofs["proofs"]?.arrayValue?.count ?? 0) + (proofs["unsealed"]?.arrayValue?.count ?? 0) > 0, "the cited events' proofs are there")

        let readme = String(decoding: try Data(contentsOf: folder.appendingPathComponent("README.md")), as: UTF8.self)
        let openssl = try #require(readme.split(separator: "\n").first { $0.hasPrefix("openssl pkeyutl") }.map(String.init))
        #expect(openssl == "openssl pkeyutl -verify -pubin -inkey key-\(keyID).pem -rawin -in report.json -sigfile report.sig")
        let checked = shellOutput("cd '\(folder.path)' && \(openssl)")
        #expect(checked.status == 0 && checked.output.contains("Signature Verified Successfully"), "\(checked.output)")
        let verify = try #require(readme.split(separator: "\n").first { $0.hasPrefix("callaudit verify") }.map(String.init))
        let verified = try runTool(callauditBinary, Array(verify.split(separator: " ").dropFirst().map(String.init)), in: folder)
        #expect(verified.status == 0 && verified.output.contains("valid: report day-2026-11-23 version 1"), "\(verified.output)")
        #expect(verified.output.contains("inclusion proof(s) of cited events lead to signed seal(s)") || verified.output.contains("not yet sealed"), "\(verified.output)")

        let reads = try api.database.owner().query(
            "SELECT event->'data'->>'reader' FROM events WHERE type = 'audit.report_read' AND event->'data'->>'format' = 'bundle'").rows
        #expect(reads.count == 1)
        #expect(try api.get("/v1/reports/day-2026-11-23/bundle?version=0", token: api.tokens["auditor"]).status == 400)
        #expect(try api.get("/v1/reports/day-2026-11-23/bundle?version=9", token: api.tokens["auditor"]).status == 404)
    }

}
}
