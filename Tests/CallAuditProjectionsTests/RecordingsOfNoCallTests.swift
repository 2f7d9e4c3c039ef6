@testable import CallAuditDomain
@testable import CallAuditProjections
import Testing

@Suite("Recordings a chunked rebuild judges without a call")
struct RecordingsOfNoCallTests {
    private func chunk(recordings: [(String, callID: String?)], calls: [String] = []) -> ComplianceFold {
        var fold = ComplianceFold()
        for callID in calls { fold.calls[ExactKey(callID)] = CallFacts(callID: callID) }
        for (recordingID, callID) in recordings {
            var recording = RecordingFacts(recordingID: recordingID)
            recording.callID = callID
            fold.recordings[ExactKey(recordingID)] = recording
        }
        return fold
    }

    @Test("a recording is a candidate until a chunk writes it with its call; one of no call stays one")
    func candidatesFollowTheLastChunk() {
        var noCall = RecordingsOfNoCall()
        noCall.note(chunk(recordings: [("with", "c1"), ("early", "c2"), ("none", nil)], calls: ["c1"]))
        #expect(noCall.candidates == ["early", "none"])
        // c2 comes in a later chunk, which writes "early" again with it.
        noCall.note(chunk(recordings: [("early", "c2")], calls: ["c2"]))
        #expect(noCall.candidates == ["none"])
        // Moved to a call this chunk does not hold: a candidate again.
        noCall.note(chunk(recordings: [("with", "elsewhere")]))
        #expect(noCall.candidates == ["none", "with"])
    }

    @Test("past its limit it keeps none, and judging scans every recording: a producer cannot make it hold more")
    func stopsKeepingPastItsLimit() {
        var noCall = RecordingsOfNoCall()
        noCall.note(chunk(recordings: (0..<RecordingsOfNoCall.limit).map { ("r-\($0)", nil) }))
        #expect(noCall.candidates?.count == RecordingsOfNoCall.limit)
        noCall.note(chunk(recordings: [("one-more", nil)]))
        #expect(noCall.candidates == nil)
        noCall.note(chunk(recordings: [("with", "c1")], calls: ["c1"]))
        #expect(noCall.candidates == nil, "once given up, it stays given up")
    }
}
