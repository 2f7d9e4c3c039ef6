import CallAuditDomain
@testable import CallAuditProjections
import Testing

/// The rebuild's scanner against the tree on what the store keeps for a
/// simulated month of traffic and for the hostile-producer corpus. No database.
@Suite("The fact scanner agrees with the tree on simulated and hostile stored forms")
struct FactScannerCorpusTests {
    @Test("a simulated month: every stored event is decided, with the tree's FactEvent; edits of some are decided alike or left to the tree")
    func simulatedMonth() throws {
        let events = simulatedEvents(calls: 1_500, seed: 8, days: 30, start: "2026-10-01T00:00:00Z")
        #expect(events.count > 9_000)
        var decided = 0
        var buffers = FactScanBuffers()
        for (index, stored) in events.enumerated() {
            do {
                if try FactScanDifferential.check(String(decoding: stored.event.canonical, as: UTF8.self), reusing: &buffers) { decided += 1 }
                if index % 2_000 == 0 { try FactScanDifferential.checkEdits(of: stored.event.canonical) }
            } catch {
                Issue.record("simulated event \(index) (\(stored.event.typeName)): \(error)")
            }
        }
        #expect(decided == events.count, "\(decided) of \(events.count) stored events decided by the scanner")
    }

    @Test("a simulated month folds and judges the same from whole events and from what the scanner keeps of them")
    func judgedMembersAreAllTheFoldReads() throws {
        let stored = simulatedEvents(calls: 1_500, seed: 8, days: 30, start: "2026-10-01T00:00:00Z")
            .map { String(decoding: $0.event.canonical, as: UTF8.self) }
        var whole = ComplianceFold(), judged = ComplianceFold()
        for json in stored {
            if let event = FactEvent(try JSONParser.parse(json)) { whole.fold(event) }
            if let event = try FactScanner.factEvent(json) { judged.fold(event) }
        }
        #expect(whole.calls.count > 1_000 && whole.recordings.count > 1_000 && !whole.holds.isEmpty)
        #expect(judged.calls == whole.calls && judged.recordings == whole.recordings && judged.holds == whole.holds)
        #expect(judged.requests == whole.requests && judged.changedCalls == whole.changedCalls)
        #expect(judged.subjectCalls.map { "\($0.key) \($0.callID) \($0.partyID)" } == whole.subjectCalls.map { "\($0.key) \($0.callID) \($0.partyID)" })
        let now = Timestamp(rfc3339: "2026-11-15T00:00:00Z")!
        let verdicts = (whole: whole.judge(recordings: Array(whole.recordings.keys), requestRecordings: [:], policy: .default, now: now),
                        judged: judged.judge(recordings: Array(judged.recordings.keys), requestRecordings: [:], policy: .default, now: now))
        #expect(verdicts.judged.findings == verdicts.whole.findings)
        #expect(verdicts.whole.findings.values.contains { !$0.isEmpty }, "the month has findings to compare")
        // The month's documents, written straight as bytes, are the trees' compact bytes.
        func written(_ write: (inout [UInt8]) -> Void) -> [UInt8] {
            var out: [UInt8] = []
            write(&out)
            return out
        }
        #expect(whole.calls.values.filter { written($0.writeDocument) != $0.document.compactBytes }.isEmpty)
        #expect(whole.recordings.values.filter { written($0.writeDocument) != $0.document.compactBytes }.isEmpty)
    }

    @Test("a simulated month folded the rebuild's way (buffers kept across events, changes not noted then all marked) is the batch's fold")
    func rebuildFoldIsTheBatchFold() throws {
        let stored = simulatedEvents(calls: 1_500, seed: 8, days: 30, start: "2026-10-01T00:00:00Z")
            .map { String(decoding: $0.event.canonical, as: UTF8.self) }
        var batch = ComplianceFold(), rebuild = ComplianceFold(recordsChanges: false)
        var buffers = FactScanBuffers()
        for json in stored {
            if let event = FactEvent(try JSONParser.parse(json)) { batch.fold(event) }
            if let event = try FactScanner.factEvent(json, reusing: &buffers) { rebuild.fold(event) }
        }
        // Holds (a few) still mark their recordings as they fold; calls and recordings' own events do not.
        #expect(rebuild.changedCalls.isEmpty && rebuild.changedRecordings.count < batch.changedRecordings.count / 10, "no change noted per event")
        rebuild.markEverythingChanged()
        #expect(!batch.requests.isEmpty && !batch.holds.isEmpty, "the month has requests and holds")
        #expect(rebuild.calls == batch.calls && rebuild.recordings == batch.recordings && rebuild.holds == batch.holds && rebuild.requests == batch.requests)
        #expect(rebuild.changedCalls == batch.changedCalls && rebuild.changedRecordings == batch.changedRecordings)
        #expect(rebuild.changedHolds == batch.changedHolds && rebuild.changedRequests == batch.changedRequests)
        let now = Timestamp(rfc3339: "2026-11-15T00:00:00Z")!
        let findings = (batch: batch.judge(recordings: Array(batch.recordings.keys), requestRecordings: [:], policy: .default, now: now).findings,
                        rebuild: rebuild.judge(recordings: Array(rebuild.recordings.keys), requestRecordings: [:], policy: .default, now: now).findings)
        #expect(findings.rebuild == findings.batch && findings.batch.values.contains { !$0.isEmpty })
    }

    @Test("a simulated month's call and recording documents: every one scanned to the tree's facts; edits of some decided alike or left to the tree")
    func factDocumentsOfAMonth() throws {
        var fold = ComplianceFold()
        for stored in simulatedEvents(calls: 1_500, seed: 8, days: 30, start: "2026-10-01T00:00:00Z") {
            if let event = try FactScanner.factEvent(String(decoding: stored.event.canonical, as: UTF8.self)) { fold.fold(event) }
        }
        #expect(fold.calls.count > 1_000 && fold.recordings.count > 1_000)
        var decided = 0
        for (index, call) in fold.calls.values.enumerated() {
            if try FactDocumentDifferential.check(call.documentText, as: CallFacts.self) { decided += 1 }
            if index % 300 == 0 { try FactDocumentDifferential.checkWritten(call) }
        }
        for (index, recording) in fold.recordings.values.enumerated() {
            if try FactDocumentDifferential.check(recording.documentText, as: RecordingFacts.self) { decided += 1 }
            if index % 300 == 0 { try FactDocumentDifferential.checkWritten(recording) }
        }
        #expect(decided == fold.calls.count + fold.recordings.count, "\(decided) documents scanned")
        #expect(fold.recordings.values.contains { !$0.uses.isEmpty && !$0.holds.isEmpty }, "the month has recordings with uses and holds")
    }

    @Test("the hostile-producer corpus, as stored when accepted")
    func hostileCorpus() throws {
        var stored = 0
        for hostile in DatabaseTests.HostileProducerTests.corpus {
            guard case .success(let event) = EventDecoderProperties.decoder.decode(hostile.incoming) else { continue }
            stored += 1
            do {
                try FactScanDifferential.check(String(decoding: event.canonical, as: UTF8.self))
            } catch {
                Issue.record("hostile message \(hostile.name): \(error)")
            }
        }
        #expect(stored > 10, "\(stored) hostile messages stored")
    }
}

extension DatabaseTests.HostileProducerTests.Hostile {
    /// The message as the decoder is given it off the wire.
    var incoming: IncomingMessage {
        let names = headers.map { String(validating: $0.name, as: UTF8.self) }
        return IncomingMessage(
            headers: zip(headers, names).map { (key: $1 ?? String(decoding: $0.name, as: UTF8.self), value: $0.value) },
            value: value, keyBytes: key?.count ?? 0, headerNamesAreUTF8: !names.contains(nil))
    }
}
