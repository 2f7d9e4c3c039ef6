import CallAuditDomain
import CallAuditIntegrity
import CallAuditRequests
import CallAuditSigning
import CallAuditStore
import CallAuditVault
import Foundation
import Testing

extension DatabaseTests {
@Suite("DPO surface: requests, exports, erasure")
struct DPOSurfaceTests {
    static let customer: JSONValue = ["phone": "+14155550100", "email": "jane@example.com", "name": "Jane Roe"]
    static let agent: JSONValue = ["employee_id": "E4711", "name": "Arthur Agent"]

    @Test("two people on one call: each one's export holds their own identifiers and never the other's")
    func twoSubjectsOneCall() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        try world.ingest(Events.recordedCall("c1", at: "2026-11-20T10:00:00Z", parties: [
            Events.party("p-cust", "customer", Self.customer), Events.party("p-agent", "agent", Self.agent),
        ]) + [Events.access("a1", "rec-c1", at: "2026-11-21T09:00:00Z"), Events.share("s1", "rec-c1", at: "2026-11-21T10:00:00Z")])

        let customerRequest = try world.desk.open(
            kind: .access, regime: "gdpr", identifiers: SubjectIdentifiers(phone: "+14155550100"), verifiedBy: "call-back", by: world.dpo)
        let customerFiles = try world.unzip(try world.desk.export(customerRequest.id, signingKey: world.signingKeys.current, by: world.dpo)).values
            .joined(separator: "\n")
        #expect(customerFiles.contains("+14155550100"))
        for other in ["E4711", "Arthur Agent", "staff-17", "staff-3"] { #expect(!customerFiles.contains(other), "\(other) leaked into the customer's export") }

        let agentRequest = try world.desk.open(
            kind: .access, regime: "gdpr", identifiers: SubjectIdentifiers(employeeID: " E4711 "), verifiedBy: "HR", by: world.dpo)
        let agentFiles = try world.unzip(try world.desk.export(agentRequest.id, signingKey: world.signingKeys.current, by: world.dpo)).values
            .joined(separator: "\n")
        #expect(agentFiles.contains("E4711"))
        for other in ["+14155550100", "4155550100", "jane@example.com", "Jane Roe"] { #expect(!agentFiles.contains(other), "\(other) leaked into the agent's export") }

        let export = try JSONParser.parse(Array(try world.unzip(try world.desk.export(customerRequest.id, signingKey: world.signingKeys.current, by: world.dpo))["export.json"]!.utf8))
        let call = export["calls"]?.arrayValue?.first
        #expect(call?["your_role"] == "customer")
        #expect(call?["other_parties"] == [["role": "agent"]])
        #expect(call?["consents"]?.arrayValue?.count == 1 && call?["notices"]?.arrayValue?.first?["to"] == "all_parties")
        #expect(export["recordings"]?.arrayValue?.first?["exists"] == true && export["recordings"]?.arrayValue?.first?["retention_until"] != nil)
        #expect(export["accesses"]?.arrayValue?.map { $0["role"] } == ["manager"])
        #expect(export["transfers"]?.arrayValue?.first?["recipient_organization"] == "Outside Counsel LLP")
        #expect(export["source"]?["systems"] == ["urn:pbx:test"])
    }

    @Test("identifiers are matched in their normal form: +1 (415) 555-0100 is +14155550100, Jane@Example.com is jane@example.com")
    func normalisation() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        try world.ingest(Events.recordedCall("c1", at: "2026-11-20T10:00:00Z", parties: [Events.party("p", "customer", ["phone": "+14155550100"])]))
        try world.ingest(Events.recordedCall("c2", at: "2026-11-20T11:00:00Z", parties: [Events.party("p", "customer", ["email": "jane@example.com"])]))

        for (identifiers, call) in [(SubjectIdentifiers(phone: "+1 (415) 555-0100"), "c1"), (SubjectIdentifiers(email: "Jane@Example.com"), "c2")] {
            let request = try world.desk.open(kind: .access, regime: "ccpa", identifiers: identifiers, verifiedBy: "portal login", by: world.dpo)
            let export = try JSONParser.parse(Array(try world.unzip(try world.desk.export(request.id, signingKey: world.signingKeys.current, by: world.dpo))["export.json"]!.utf8))
            #expect(export["calls"]?.arrayValue?.compactMap { $0["call_id"]?.stringValue } == [call])
        }
        #expect(throws: RequestError.self) {
            try world.desk.open(kind: .access, regime: "gdpr", identifiers: SubjectIdentifiers(phone: "415-555-0100"), verifiedBy: "x", by: world.dpo)
        }
        #expect(throws: RequestError.self) {
            try world.desk.open(kind: .access, regime: "gdpr", identifiers: SubjectIdentifiers(), verifiedBy: "x", by: world.dpo)
        }
    }

    @Test("a person whose calls carry three spellings of their identifiers gets one export with every call")
    func threeSpellingsOneExport() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        // Phone alone; phone and e-mail in capitals (links the e-mail); the e-mail padded, in lower case.
        try world.ingest(Events.recordedCall("c1", at: "2026-11-20T10:00:00Z", parties: [Events.party("p", "customer", ["phone": "+14155550100"])]))
        try world.ingest(Events.recordedCall("c2", at: "2026-11-20T11:00:00Z", parties: [
            Events.party("p", "customer", ["phone": "+14155550100", "email": "JANE@EXAMPLE.COM"]),
        ]))
        try world.ingest(Events.recordedCall("c3", at: "2026-11-20T12:00:00Z", parties: [Events.party("p", "customer", ["email": " jane@example.com "])]))
        try world.ingest(Events.recordedCall("c4", at: "2026-11-20T13:00:00Z", parties: [Events.party("p", "customer", ["phone": "+14155550199"])]))

        let request = try world.desk.open(
            kind: .access, regime: "gdpr", identifiers: SubjectIdentifiers(email: "Jane@example.com"), verifiedBy: "e-mail confirmation", by: world.dpo)
        let files = try world.unzip(try world.desk.export(request.id, signingKey: world.signingKeys.current, by: world.dpo))
        let export = try JSONParser.parse(Array(files["export.json"]!.utf8))
        #expect(export["calls"]?.arrayValue?.compactMap { $0["call_id"]?.stringValue } == ["c1", "c2", "c3"])
        #expect(files["calls.csv"]!.split(separator: "\n").count == 4, "a header and three calls")
        #expect(try world.desk.subjects(of: request).count == 1, "one person")
    }

    static let erasureOverdue = "SELECT recording_id, detail FROM findings WHERE status = 'open' AND rule = 'ERASURE_OVERDUE'"
    static let person = Events.party("p", "customer", ["phone": "+4930123456"])

    /// On 10 December: the person's call-a of 20 September, recorded as rec-a, and their
    /// erasure received on 1 October, due 1 November. The caller drops the world.
    static func overdueErasure() throws -> DPOWorld {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-12-10T00:00:00Z")!)
        do {
            try world.ingest(
                Events.recordedCall("call-a", at: "2026-09-20T10:00:00Z", parties: [person], recording: "rec-a")
                    + [Events.erasure("req-l", at: "2026-10-01T11:00:00Z")])
        } catch {
            world.drop()
            throw error
        }
        return world
    }

    /// The batch judged its requests before it saved its recordings, so a request that came with the
    /// subject's recordings was judged without them (found by the tenth review).
    @Test("an erasure request in the same batch as its subject's recording: judged with it, as a rebuild judges it")
    func requestJudgedWithItsBatchsRecordings() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-12-10T00:00:00Z")!)
        defer { world.drop() }
        let party = Events.party("p", "customer", ["phone": "+4930123456"])
        try world.ingest(
            Events.recordedCall("call-a", at: "2026-11-02T10:00:00Z", parties: [party], recording: "rec-a")
                + [Events.erasure("req-l", at: "2026-11-03T11:00:00Z")])
        let (incremental, rebuilt) = try world.incrementalAndRebuilt(Self.erasureOverdue)
        #expect(incremental.first?[0] == "rec-a", "overdue for the recording never deleted: \(incremental)")
        #expect(incremental == rebuilt, "incremental \(incremental), rebuilt \(rebuilt)")
    }

    @Test("a call of the subject that arrives after the erasure's deadline: the request is judged again with its recording, as a rebuild judges it")
    func lateRecordingAfterTheDeadline() throws {
        let world = try Self.overdueErasure()
        defer { world.drop() }
        // Judged after its deadline (1 November) with the one recording known: overdue for rec-a.
        #expect(try world.openFindings("ERASURE_OVERDUE").map { $0[1] } == ["rec-a"])
        // Then the platform delivers an older call of the same person, and rec-a's deletion, dated before the deadline.
        try world.ingest(
            Events.recordedCall("call-late", at: "2026-09-25T10:00:00Z", parties: [Self.person], recording: "rec-late")
                + [Events.deletion("rec-a", at: "2026-10-15T00:00:00Z")])
        let (incremental, rebuilt) = try world.incrementalAndRebuilt(Self.erasureOverdue)
        #expect(incremental.first?[0] == "rec-late", "overdue for the recording delivered late, rec-a deleted in time: \(incremental)")
        #expect(incremental == rebuilt, "incremental \(incremental), rebuilt \(rebuilt)")
    }

    @Test("a deletion, dated before the erasure's deadline, that arrives after it: the request is judged again, as a rebuild judges it")
    func lateDeletionAfterTheDeadline() throws {
        let world = try Self.overdueErasure()
        defer { world.drop() }
        #expect(try world.openFindings("ERASURE_OVERDUE").map { $0[1] } == ["rec-a"])
        try world.ingest([Events.deletion("rec-a", at: "2026-10-15T00:00:00Z")])
        let (incremental, rebuilt) = try world.incrementalAndRebuilt(Self.erasureOverdue)
        #expect(incremental.count == 1 && incremental.first?[0] == nil, "still overdue, no longer for rec-a: \(incremental)")
        #expect(incremental == rebuilt, "incremental \(incremental), rebuilt \(rebuilt)")
    }

    @Test("a person recorded again after their erasure request's deadline: the new recording was not owed, no finding, after a rebuild too")
    func recordingMadeAfterTheDeadlineIsNotOwed() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-10-02T00:00:00Z")!)
        defer { world.drop() }
        let party = Events.party("p", "customer", ["phone": "+4930123456"])
        try world.ingest([Events.erasure("req-l", at: "2026-10-01T11:00:00Z")])
        _ = try world.desk.close("req-l", outcome: .answered, by: world.dpo, at: Timestamp(rfc3339: "2026-10-05T00:00:00Z")!)
        world.advance(to: Timestamp(rfc3339: "2026-12-10T00:00:00Z")!)
        try world.project()
        #expect(try world.openFindings("ERASURE_OVERDUE").isEmpty, "answered in time, nothing of the person's to delete")
        try world.ingest(Events.recordedCall("call-new", at: "2026-12-05T10:00:00Z", parties: [party], recording: "rec-new"))
        #expect(try world.openFindings("ERASURE_OVERDUE").isEmpty, "a recording made after the deadline is not overdue")
        try world.rebuild()
        #expect(try world.openFindings("ERASURE_OVERDUE").isEmpty, "nor after a rebuild")
    }

    @Test("a recording moved to another call after the erasure's deadline: the first call's person's request is judged again, as a rebuild judges it")
    func recordingMovedToAnotherCall() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-12-10T00:00:00Z")!)
        defer { world.drop() }
        let p = Events.party("p", "customer", ["phone": "+4930123456"])
        let q = Events.party("q", "customer", ["phone": "+4930999999"])
        try world.ingest(
            Events.recordedCall("call-a", at: "2026-09-20T10:00:00Z", parties: [p], recording: "rec-a")
                + Events.recordedCall("call-b", at: "2026-09-21T10:00:00Z", parties: [q], recording: "rec-b")
                + [Events.erasure("req-l", at: "2026-10-01T11:00:00Z")])
        let overdue = "SELECT request_id, recording_id, detail FROM findings WHERE status = 'open' AND rule = 'ERASURE_OVERDUE' ORDER BY 1"
        #expect(try world.connection.query(overdue).rows.first?[1] == "rec-a")
        try world.ingest([Events.event("rec-a-restored", .recordingStored, "2026-09-20T10:06:00Z", [
            "call_id": "call-b", "recording_id": "rec-a", "storage_uri": "s3://recordings/rec-a",
            "sha256": .string(String(repeating: "ab", count: 32)), "duration_seconds": 297, "bytes": 1_000_000,
        ])])
        let (incremental, rebuilt) = try world.incrementalAndRebuilt(overdue)
        #expect(incremental.first?[1] == nil, "rec-a is call-b's now, not the person's: \(incremental)")
        #expect(incremental == rebuilt, "incremental \(incremental), rebuilt \(rebuilt)")
    }

    @Test("overdue requests judged again for their persons' recordings keep their stored facts and deadlines")
    func judgedAgainOnlyWhereTheVerdictCanChange() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-12-10T00:00:00Z")!)
        defer { world.drop() }
        let party = Events.party("p", "customer", ["phone": "+4930123456"])
        try world.ingest(
            Events.recordedCall("call-a", at: "2026-09-20T10:00:00Z", parties: [party], recording: "rec-a")
                + [Events.erasure("req-overdue", at: "2026-10-01T11:00:00Z"), Events.erasure("req-due-later", at: "2026-12-01T11:00:00Z")])
        let access = try world.desk.open(
            kind: .access, regime: "gdpr", identifiers: SubjectIdentifiers(phone: "+49 30 123456"), verifiedBy: "call-back", by: world.dpo,
            at: Timestamp(rfc3339: "2026-10-01T11:00:00Z")!)
        try world.project()
        let rows = "SELECT r.request_id, r.xmin::text, d.xmin::text FROM compliance_requests r JOIN compliance_deadlines d ON d.subject = 'request:' || r.request_id ORDER BY 1"
        let before = try world.connection.query(rows).rows
        #expect(before.count == 3)
        let findings = "SELECT request_id, recording_id FROM findings WHERE status = 'open' AND request_id IS NOT NULL ORDER BY 1"
        // Both overdue findings name the first recording not deleted by the deadline; the request due later has none yet.
        let ids = [access.id, "req-overdue"].sorted()
        #expect(try world.connection.query(findings).rows == ids.map { [$0, "rec-a"] })
        try world.ingest([Events.deletion("rec-a", at: "2026-10-15T00:00:00Z")])
        #expect(try world.connection.query(rows).rows == before, "no request or deadline row rewritten")
        #expect(try world.connection.query(findings).rows == ids.map { [$0, nil] }, "both judged again")
    }

    @Test("two erasures naming one person, due a month apart: each owes the recordings stored by its own deadline, in one batch and after a rebuild")
    func eachRequestOwesByItsOwnDeadline() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2027-01-10T00:00:00Z")!)
        defer { world.drop() }
        let party = Events.party("p", "customer", ["phone": "+4930123456"])
        try world.ingest(
            Events.recordedCall("call-early", at: "2026-09-20T10:00:00Z", parties: [party], recording: "rec-early")
                + Events.recordedCall("call-late", at: "2026-11-15T10:00:00Z", parties: [party], recording: "rec-late")
                + [Events.erasure("req-october", at: "2026-10-01T11:00:00Z"), Events.erasure("req-november", at: "2026-11-01T11:00:00Z")])
        let overdue = "SELECT request_id, recording_id, detail FROM findings WHERE status = 'open' AND rule = 'ERASURE_OVERDUE' ORDER BY 1"
        let incremental = try world.connection.query(overdue).rows
        #expect(incremental.map { [$0[0], $0[1]] } == [["req-november", "rec-early"], ["req-october", "rec-early"]])
        #expect(incremental.map { $0[2]?.contains("2 recording(s)") } == [true, false], "rec-late was stored after October's deadline only: \(incremental)")
        try world.rebuild()
        #expect(try world.connection.query(overdue).rows == incremental)
    }

    @Test("erasure: key and index destroyed, a held recording held back with its reason, the rest tracked to deletion")
    func erasureWithHold() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-11-22T12:00:00Z")!)
        defer { world.drop() }
        let party = Events.party("p", "customer", Self.customer)
        try world.ingest(Events.recordedCall("c1", at: "2026-11-20T10:00:00Z", parties: [party], recording: "r-held")
            + Events.recordedCall("c2", at: "2026-11-21T10:00:00Z", parties: [party], recording: "r-free")
            + [Events.hold("H1", recordings: ["r-held"], at: "2026-11-21T12:00:00Z")])

        let request = try world.desk.open(
            kind: .erasure, regime: "gdpr", identifiers: SubjectIdentifiers(phone: "+14155550100"), verifiedBy: "call-back", by: world.dpo,
            at: world.now)
        let report = try world.desk.erase(request.id, by: world.dpo, at: world.now)
        #expect(report.heldBack.map(\.recordingID) == ["r-held"])
        #expect(report.heldBack.first?.reason.contains("Art. 17(3)(e)") == true && report.heldBack.first?.holdIDs == ["H1"])
        #expect(report.recordingsToDelete == ["r-free"])
        #expect(report.outcome.subjects == 1 && report.outcome.indexEntries == 2)
        #expect(try world.database.count("SELECT count(*) FROM subject_index") == 0)
        #expect(try world.database.count("SELECT count(*) FROM subjects WHERE wrapped_key IS NOT NULL") == 0)
        #expect(try world.desk.request(request.id)?.status == .erased)
        #expect(try world.desk.identifiers(of: try world.desk.request(request.id)!) == nil, "the request's own copy of the identifiers is unreadable")
        #expect(try world.vault.find([.phone("+14155550100")], on: world.connection).refs.isEmpty)
        #expect(throws: RequestError.self) { try world.desk.erase(request.id, by: world.dpo) }

        // The recording system deletes the free recording by the deadline: no finding; the held one is not owed.
        try world.ingest([Events.deletion("r-free", at: "2026-12-01T00:00:00Z")])
        world.advance(to: Timestamp(rfc3339: "2027-01-10T00:00:00Z")!)
        try world.project()
        #expect(try world.openFindings("ERASURE_OVERDUE").isEmpty)
        let view = try world.desk.view(try world.desk.request(request.id)!)
        #expect(view["recordings"]?.arrayValue?.count == 2)
        #expect(view["subject"] == .null && view["subject_erased"] == true)
        // Findings still count the events: the calls are there, under a pseudonym nobody can resolve.
        #expect(try world.database.count("SELECT count(*) FROM compliance_calls") == 2)
    }

    @Test("requests reach the rules: unanswered access and unfinished erasure are overdue, closing in time and extending are not")
    func requestsToFindings() throws {
        let world = try DPOWorld(now: Timestamp(rfc3339: "2026-09-01T09:00:00Z")!)
        defer { world.drop() }
        let party = Events.party("p", "customer", ["phone": "+4930123456"])
        try world.ingest(Events.recordedCall("c1", at: "2026-08-30T10:00:00Z", parties: [party], recording: "r1"))
        let desk = world.desk
        let identifiers = SubjectIdentifiers(phone: "+49 30 123456")
        let late = try desk.open(kind: .access, regime: "gdpr", identifiers: identifiers, verifiedBy: "id card", by: world.dpo, at: world.now)
        let answered = try desk.open(kind: .access, regime: "gdpr", identifiers: identifiers, verifiedBy: "id card", by: world.dpo, at: world.now)
        let extended = try desk.open(kind: .access, regime: "gdpr", identifiers: identifiers, verifiedBy: "id card", by: world.dpo, at: world.now)
        let erasure = try desk.open(kind: .erasure, regime: "ccpa", identifiers: identifiers, verifiedBy: "id card", by: world.dpo, at: world.now)
        // From Kafka: the platform received an erasure request for someone else.
        try world.ingest([Events.event("kafka-erasure", .subjectErasureRequested, "2026-09-01T09:00:00Z", [
            "request_id": "platform-1", "subject": ["email": "someone@example.com"], "regime": "gdpr",
        ])])

        #expect(late.deadline(policy: .default)?.rfc3339 == "2026-10-01T09:00:00Z")
        _ = try desk.close(answered.id, outcome: .answered, by: world.dpo, at: Timestamp(rfc3339: "2026-09-20T00:00:00Z")!)
        let longer = try desk.extend(extended.id, reason: "complex", by: world.dpo, at: Timestamp(rfc3339: "2026-09-25T00:00:00Z")!)
        #expect(longer.deadline(policy: .default)?.rfc3339 == "2026-12-01T09:00:00Z", "one month plus two, from receipt")
        #expect(throws: RequestError.conflict("request \(extended.id) was already extended; the law allows one extension")) {
            try desk.extend(extended.id, reason: "again", by: world.dpo)
        }
        #expect(throws: RequestError.self) { try desk.extend(late.id, reason: "too late", by: world.dpo, at: Timestamp(rfc3339: "2026-10-02T00:00:00Z")!) }
        // CCPA: 45 days. Erased in time, but the recording system never deletes r1.
        _ = try desk.erase(erasure.id, by: world.dpo, at: Timestamp(rfc3339: "2026-09-05T00:00:00Z")!)

        world.advance(to: Timestamp(rfc3339: "2026-10-20T00:00:00Z")!)
        try world.project()
        #expect(try world.openFindings("SUBJECT_REQUEST_OVERDUE").map { $0[0]! } == [late.id])
        let overdue = try world.openFindings("ERASURE_OVERDUE")
        #expect(overdue.contains { $0[0] == erasure.id && $0[1] == "r1" }, "erased in time, but the recording system never deleted r1")
        #expect(overdue.contains { $0[0] == "platform-1" }, "a platform erasure nobody completed is overdue")
        #expect(overdue.count == 2)
        #expect(try desk.list().map(\.id).contains("platform-1"))
        #expect(try desk.list(status: .open).map(\.id).sorted() == ["platform-1", extended.id, late.id].sorted())
    }

    @Test("the export's manifest is signed: it verifies with the published key (and OpenSSL), and one changed byte fails it")
    func manifestVerifies() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        try world.ingest(Events.recordedCall("c1", at: "2026-11-20T10:00:00Z", parties: [Events.party("p", "customer", Self.customer)]))
        let request = try world.desk.open(kind: .access, regime: "gdpr", identifiers: SubjectIdentifiers(email: "jane@example.com"), verifiedBy: "x", by: world.dpo)
        let package = try world.desk.export(request.id, signingKey: world.signingKeys.current, by: world.dpo)
        let zip = try package.zip()
        let key = try ExportPackage.verify(zip: zip, keys: world.signingKeys.published)
        #expect(key.keyID == world.signingKeys.current.keyID)
        #expect(try world.desk.request(request.id)?.exports.map(\.manifestSHA256) == [package.manifestSHA256], "the hand-over is recorded")

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(package.manifest).write(to: folder.appendingPathComponent("manifest.json"))
        try Data(package.signature.bytes).write(to: folder.appendingPathComponent("manifest.sig"))
        try key.pem.write(to: folder.appendingPathComponent("key.pem"), atomically: true, encoding: .utf8)
        let openssl = try runTool("/usr/bin/openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin", "-in", "manifest.json", "-sigfile", "manifest.sig"], in: folder)
        #expect(openssl.status == 0 && openssl.output.contains("Signature Verified Successfully"), "\(openssl.output)")

        var tampered = package
        tampered.files[0].bytes[10] ^= 1
        #expect(throws: ExportError.tampered("export.json was changed")) { try ExportPackage.verify(zip: try tampered.zip(), keys: world.signingKeys.published) }
        let schema = try runTool("/usr/bin/env", ["python3", "-c", """
            import json, sys, jsonschema
            jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))
            print("valid")
            """, "export.json", "export.schema.json"], in: try write(package, to: folder))
        #expect(schema.status == 0 && schema.output.contains("valid"), "export.json follows its schema: \(schema.output)")

        // The page the person reads: rendered by Chromium, it shows their calls and nobody's name but their own.
        let (dom, console) = try headlessChromium(folder.appendingPathComponent("summary.html"))
        #expect(console.isEmpty, "\(console)")
        #expect(dom.contains("What we hold about you") && dom.contains("c1") && dom.contains("jane@example.com"))
        #expect(dom.contains("Outside Counsel LLP") == false && dom.contains("Your rights"))
    }

    @Test("an export manifest says what it is: callaudit verify refuses it as a report, and one from before kinds passes the export verifier only when told; the store behind it verifies")
    func manifestNamesItsKind() throws {
        let world = try DPOWorld()
        defer { world.drop() }
        try world.ingest(Events.recordedCall("c1", at: "2026-11-20T10:00:00Z", parties: [Events.party("p", "customer", Self.customer)]))
        let request = try world.desk.open(kind: .access, regime: "gdpr", identifiers: SubjectIdentifiers(email: "jane@example.com"), verifiedBy: "x", by: world.dpo)
        let package = try world.desk.export(request.id, signingKey: world.signingKeys.current, by: world.dpo)
        let manifest = try JSONParser.parse(package.manifest)
        #expect(manifest["type"] == "callaudit.export_manifest")

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(package.manifest).write(to: folder.appendingPathComponent("manifest.json"))
        try Data(package.signature.bytes).write(to: folder.appendingPathComponent("manifest.sig"))
        try world.signingKeys.published[0].pem.write(to: folder.appendingPathComponent("key.pem"), atomically: true, encoding: .utf8)
        let asReport = try runTool(callauditBinary, ["verify", "manifest.json", "--signature", "manifest.sig", "--key", "key.pem"], in: folder)
        #expect(asReport.status == 1 && asReport.output.contains("INVALID: the document is an export manifest, not a report"), "\(asReport.output)")
        #expect(try runTool(callauditBinary, ["verify", "manifest.json", "--signature", "manifest.sig", "--key", "key.pem", "--legacy-report"], in: folder).status == 1)

        // The same manifest as it was made before manifests named their kind, signed by the same key (with OpenSSL).
        guard case .object(let members) = manifest else { throw TestFailure("a manifest is an object") }
        var old = package
        old.manifest = Array((JSONValue.object(members.filter { $0.key != "type" }).prettyPrinted() + "\n").utf8)
        try Data(old.manifest).write(to: folder.appendingPathComponent("old.json"))
        let privateKey = world.keyDirectory.appendingPathComponent("signing-\(world.signingKeys.current.keyID).pem").path
        let signed = try runTool("/usr/bin/openssl", ["pkeyutl", "-sign", "-inkey", privateKey, "-rawin", "-in", "old.json", "-out", "old.sig"], in: folder)
        #expect(signed.status == 0, "\(signed.output)")
        old.signature = DetachedSignature(keyID: package.signature.keyID, bytes: Array(try Data(contentsOf: folder.appendingPathComponent("old.sig"))))
        #expect(throws: SigningError.unnamedKind(expected: .exportManifest)) { try ExportPackage.verify(zip: try old.zip(), keys: world.signingKeys.published) }
        #expect(try ExportPackage.verify(zip: try old.zip(), keys: world.signingKeys.published, acceptUnnamed: true).keyID == world.signingKeys.current.keyID)

        // The log behind it — personal data sealed per person, the request's own events — has no column its bytes disagree with.
        let verified = try StoreVerifier(connection: world.connection, keys: world.signingKeys.published).verify()
        #expect(verified.intact && verified.unsealedEvents >= 3, "\(verified.mismatches) \(String(describing: verified.firstBreak))")
        #expect(try world.database.count("SELECT count(*) FROM events WHERE type LIKE 'subject.request_%'") >= 2)
    }

    private func write(_ package: ExportPackage, to folder: URL) throws -> URL {
        for file in package.files { try Data(file.bytes).write(to: folder.appendingPathComponent(file.name)) }
        return folder
    }
}
}
