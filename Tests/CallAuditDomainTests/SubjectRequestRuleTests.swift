import Testing

@testable import CallAuditDomain

@Suite("Subject-request deadlines: ERASURE_OVERDUE and SUBJECT_REQUEST_OVERDUE")
struct SubjectRequestRuleTests {
    let policy = Policy.default

    func at(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

    @Test(
        "GDPR: one calendar month, clamped at month ends and leap years; extended, three months from receipt",
        arguments: [
            ("2026-01-31T09:00:00Z", false, "2026-02-28T09:00:00Z"), ("2028-01-31T09:00:00Z", false, "2028-02-29T09:00:00Z"),
            ("2026-03-31T09:00:00Z", false, "2026-04-30T09:00:00Z"), ("2026-12-15T09:00:00Z", false, "2027-01-15T09:00:00Z"),
            ("2026-01-31T09:00:00Z", true, "2026-04-30T09:00:00Z"), ("2026-11-30T09:00:00Z", true, "2027-02-28T09:00:00Z"),
        ])
    func gdprDeadlines(_ received: String, _ extended: Bool, _ due: String) {
        var request = SubjectRequestFacts(requestID: "q", kind: .erasure, regime: "gdpr", receivedAt: at(received), receivedEventID: "e")
        request.extended = extended
        #expect(request.deadline(policy: policy) == at(due))
    }

    @Test("CCPA: 45 days, extendable once by 45")
    func ccpaDeadlines() {
        var request = SubjectRequestFacts(requestID: "q", kind: .erasure, regime: "ccpa", receivedAt: at("2026-01-01T00:00:00Z"), receivedEventID: "e")
        #expect(request.deadline(policy: policy) == at("2026-02-15T00:00:00Z"))
        request.extended = true
        #expect(request.deadline(policy: policy) == at("2026-04-01T00:00:00Z"))
    }

    @Test("an erasure is overdue once the deadline passes with a recording of the subject not deleted, and not before")
    func erasureOverdue() {
        var request = SubjectRequestFacts(requestID: "q", kind: .erasure, regime: "gdpr", receivedAt: at("2026-01-31T09:00:00Z"), receivedEventID: "e")
        request.recordings = ["r1": at("2026-02-10T00:00:00Z"), "r2": nil]
        request.completedAt = at("2026-02-20T00:00:00Z")
        #expect(SubjectRequestRule.evaluate(request, policy: policy, now: at("2026-02-28T09:00:00Z")).isEmpty, "due, not yet past")
        let overdue = SubjectRequestRule.evaluate(request, policy: policy, now: at("2026-02-28T09:00:01Z"))
        #expect(overdue.map(\.rule) == [.erasureOverdue] && overdue.first?.recordingID == "r2" && overdue.first?.requestID == "q")
        request.recordings["r2"] = at("2026-02-27T00:00:00Z")
        #expect(SubjectRequestRule.evaluate(request, policy: policy, now: at("2026-06-01T00:00:00Z")).isEmpty)
        request.completedAt = nil
        #expect(SubjectRequestRule.evaluate(request, policy: policy, now: at("2026-06-01T00:00:00Z")).map(\.rule) == [.erasureOverdue],
                "never completed")
    }

    @Test("an access request answered late, or not at all by the deadline, is overdue")
    func accessOverdue() {
        var request = SubjectRequestFacts(requestID: "q", kind: .access, regime: "gdpr", receivedAt: at("2026-03-01T00:00:00Z"), receivedEventID: "e")
        #expect(SubjectRequestRule.evaluate(request, policy: policy, now: at("2026-03-20T00:00:00Z")).isEmpty)
        #expect(SubjectRequestRule.evaluate(request, policy: policy, now: at("2026-04-02T00:00:00Z")).map(\.rule) == [.subjectRequestOverdue])
        request.completedAt = at("2026-03-30T00:00:00Z")
        #expect(SubjectRequestRule.evaluate(request, policy: policy, now: at("2026-04-02T00:00:00Z")).isEmpty)
    }
}
