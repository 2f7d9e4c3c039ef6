import CallAuditDomain
import CallAuditStore

/// One row per data-subject request (`subject_requests`), for the request
/// list and the operations status, which used to fold every request stream
/// on each read.
///
/// A batch that touches a request stream folds that whole stream again with
/// `SubjectRequest.fold`, the fold the request desk uses: the row is what the
/// desk would show, first-opener-owns included (a forged second opening is
/// a claim, and changes nothing in the row). A request stream is a handful of
/// events, so refolding it costs one indexed read. The stream read may see
/// events the runner has not reached yet; their own batch folds it again and
/// writes the same row.
package struct SubjectRequestProjection: Projection {
    package let name = "subject_requests"
    package let tables = ["subject_requests"]

    package init() {}

    package func apply(_ events: [StoredEvent], in connection: PostgresConnection) throws {
        // Streams told apart by their bytes, as the log tells them apart: a `Set<String>` took
        // canonically equivalent names ("é" and "e" + U+0301) for one, and refolded only one of them.
        var seen = Set<[UInt8]>()
        // The prefix by bytes too: `hasPrefix` compares characters, and an id that begins with a
        // combining mark joins the prefix's last "-" into another character.
        let streams = events.map(\.stream).filter {
            $0.utf8.starts(with: EventLog.requestStreamPrefix.utf8) && seen.insert(Array($0.utf8)).inserted
        }
        guard !streams.isEmpty else { return }
        let log = EventLog(connection: connection)
        var requests: [SubjectRequestSummary] = []
        for stream in streams.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let documents = try log.requestDocuments(inStream: stream).map { try JSONParser.parse($0) }
            // A stream with no valid opening (only a stray extension, say) is no request.
            if let request = SubjectRequest.fold(documents) { requests.append(request.summary) }
        }
        try SubjectRequestTable(connection: connection).upsert(requests)
    }
}
