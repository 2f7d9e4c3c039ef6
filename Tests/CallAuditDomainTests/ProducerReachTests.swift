@testable import CallAuditDomain
import Testing

/// What a producer cannot name: CallAudit's own source, and NUL anywhere
/// (both found by an attacker's review, and failing before they were fixed).
@Suite("A producer's reach")
struct ProducerReachTests {
    let decoder = EventDecoder()

    func decode(_ event: JSONValue) -> Result<DecodedEvent, Rejection> {
        decoder.decode(IncomingMessage(value: event.canonicalBytes))
    }

    /// A producer that may publish as `urn:callaudit` owns CallAudit's own
    /// `(source, id)` namespace: `conflict-1`, `conflict-2`… are the ids the
    /// store gives its `integrity.event_conflict` records, so pre-publishing
    /// them makes every later conflict's evidence event (and its EVENT_CONFLICT
    /// finding) land on the squatter's event instead.
    @Test("a producer cannot publish under CallAudit's own source, so cannot take the ids of its records")
    func producerCannotUseCallAuditsSource() {
        let event = ContractCorpus.with(
            ContractCorpus.with(ContractCorpus.event("call.ended", data: ["call_id": "c1"]), "source", .string(OwnEventType.source)),
            "id", "conflict-1")
        guard case .failure = decode(event) else {
            Issue.record("an event with source \(OwnEventType.source) and id conflict-1 was accepted from Kafka")
            return
        }
    }

    /// PostgreSQL's text cannot hold NUL, and the store passes text parameters
    /// as C strings (strdup: cut at the first NUL), so an array literal with a
    /// NUL in one element is malformed (22P02). A NUL in a party id or an
    /// actor id is accepted at ingest and then quarantines the projection
    /// stream of the call or recording it names: that call's findings stop.
    @Test("NUL is refused in every string a projection stores, not only in ids and stream keys",
          arguments: [
              ("call.started", ContractCorpus.with(ContractCorpus.validData(.callStarted), "parties", [
                  ["party_id": "p\u{0}x", "role": "third_party", "subject": ["customer_id": "z"]],
              ])),
              ("recording.accessed", ContractCorpus.with(ContractCorpus.validData(.recordingAccessed), "actor", ["id": "u\u{0}x", "role": "manager"])),
          ] as [(String, JSONValue)])
    func nulAnywhereIsRefused(_ type: String, _ data: JSONValue) {
        guard case .failure = decode(ContractCorpus.event(type, data: data)) else {
            Issue.record("a \(type) with a NUL inside data was accepted")
            return
        }
    }
}
