import CallAuditDomain
import CallAuditSigning
import CallAuditStore
import CallAuditVault
import Crypto

/// What an erasure did, for the DPO and the `subject.erased` event.
package struct ErasureReport: Sendable {
    package struct Held: Sendable, Equatable {
        package var recordingID: String
        package var holdIDs: [String]
        package var reason: String
    }

    package var request: SubjectRequest
    package var subjects: [String]
    package var outcome: ErasureOutcome
    package var heldBack: [Held]
    /// The subject's recordings the recording system has still to delete (held ones excluded).
    package var recordingsToDelete: [String]
    /// Export files deleted from this machine.
    package var removedFiles: [String]
}

extension RequestDesk {
    /// The access export for a request, signed; its hand-over is recorded in
    /// the request's stream. The DPO closes the request once it is delivered.
    package func export(_ id: String, signingKey: SigningKey, by actor: RequestActor, at time: Timestamp = .now) throws -> ExportPackage {
        var package: ExportPackage?
        _ = try locked(id) { request in
            guard request.kind == .access else { throw RequestError.conflict("request \(id) is an erasure request; an export answers an access request") }
            guard let identifiers = try identifiers(of: request) else {
                throw RequestError.conflict("request \(id): its person was erased, so nothing about them can be exported")
            }
            let records = try SubjectRecords.load(try answerableSubjects(of: request), from: connection)
            let export = AccessExport(request: request, identifiers: identifiers, records: records, policy: policy, generatedAt: time)
            let made = try ExportPackage(export, signingKey: signingKey)
            try append(.requestExported, [
                "request_id": .string(id), "manifest_sha256": .string(made.manifestSHA256), "files": .number(Double(made.files.count)),
                "by": actor.document, "channel": .string(actor.channel),
            ], at: time)
            package = made
        }
        return package!
    }

    /// Erases the request's person: their data key and blind indexes destroyed,
    /// the dead letters that named them shredded, the export files written
    /// for them deleted; recordings under an active legal hold listed as held
    /// back (GDPR Art. 17(3)(e)); and a `subject.erased` event saying so.
    package func erase(_ id: String, by actor: RequestActor, at time: Timestamp = .now) throws -> ErasureReport {
        var report: ErasureReport?
        var exportFiles: [String] = []
        let request: SubjectRequest
        do {
            request = try erasing(id, by: actor, at: time, report: &report, exportFiles: &exportFiles)
        } catch let error as PostgresError where error.isUnconfirmedCommit {
            // Committed here though not confirmed by the standby: the export rows are gone, so the
            // files must go too, or nothing would ever delete them. The caller still sees the failure.
            _ = SubjectVault.removeExports(exportFiles)
            throw error
        }
        report!.request = request
        // After the commit: a file deleted for an erasure that then rolled back could not be brought back.
        report!.removedFiles = SubjectVault.removeExports(exportFiles)
        return report!
    }

    private func erasing(
        _ id: String, by actor: RequestActor, at time: Timestamp, report: inout ErasureReport?, exportFiles: inout [String]
    ) throws -> SubjectRequest {
        try locked(id) { request in
            guard request.kind == .erasure else { throw RequestError.conflict("request \(id) is an access request; open an erasure request to erase") }
            guard request.isOpen else { throw RequestError.conflict("request \(id) is already \(request.status.rawValue)") }
            let refs = try answerableSubjects(of: request)
            let records = try SubjectRecords.load(refs, from: connection)
            let held = records.held(at: time).map { recording in
                ErasureReport.Held(
                    recordingID: recording.recordingID, holdIDs: recording.holdIDs,
                    reason: "under legal hold \(recording.holdIDs.joined(separator: ", ")): kept for the establishment, exercise or defence of legal claims (GDPR Art. 17(3)(e))")
            }
            let (outcome, exports) = try vault.erase(refs, on: connection)
            exportFiles = exports
            try append(.subjectErased, erasedEvent(id, refs: refs, outcome: outcome, held: held, by: actor), at: time)
            let heldIDs = Set(held.map(\.recordingID.exactKey))
            report = ErasureReport(
                request: request, subjects: refs, outcome: outcome, heldBack: held,
                recordingsToDelete: records.recordings.filter { $0.value.deleted == nil && !heldIDs.contains($0.key) }.keys.sorted().map(\.text),
                removedFiles: [])
        }
    }

    private func erasedEvent(_ id: String, refs: [String], outcome: ErasureOutcome, held: [ErasureReport.Held], by actor: RequestActor) -> JSONValue {
        [
            "request_id": .string(id),
            "subjects": .array(refs.map(JSONValue.string)),
            "erased": [
                "keys": .number(Double(outcome.subjects)), "index_entries": .number(Double(outcome.indexEntries)),
                "dead_letters": .number(Double(outcome.deadLetters)), "exports": .number(Double(outcome.exports.count)),
            ],
            "held_back": .array(held.map { recording in
                [
                    "recording_id": .string(recording.recordingID), "hold_ids": .array(recording.holdIDs.map(JSONValue.string)),
                    "reason": .string(recording.reason),
                ]
            }),
            "by": actor.document,
        ]
    }
}
