/// What compliance reads of a contract event's `data`, typed: every member
/// the fold, the facts it keeps (`CallFacts`, `RecordingFacts`, holds,
/// requests) and the rules read, down to the nested members they read.
///
/// A rebuild reads every event of the log: building a `JSONValue` tree of
/// these members (a `String` per name, an array per object) and looking each
/// up by name again in the fold cost more than the rest of the scan.
/// `JudgedDataScanner.judgedData` fills this straight from the stored bytes;
/// `init(_:)` gives the same from a tree, which is the reference the scanner
/// is tested against (`FactScanDifferential`).
///
/// A member that is absent, or not of the kind read here (a number where a
/// string is read…), is nil, as `JSONValue.stringValue` and friends give it.
package struct JudgedData: Sendable, Equatable {
    /// One element of `parties`; every member nil for an element that is not an object.
    package struct Party: Sendable, Equatable {
        package var device: String?
        package var jurisdiction: String?
        package var partyID: String?
        package var role: String?
        /// `subject.subject_ref`: the person's pseudonym (`SubjectKeys`).
        package var subjectRef: String?

        package init(device: String? = nil, jurisdiction: String? = nil, partyID: String? = nil, role: String? = nil, subjectRef: String? = nil) {
            self.device = device
            self.jurisdiction = jurisdiction
            self.partyID = partyID
            self.role = role
            self.subjectRef = subjectRef
        }
    }

    /// `actor.role`
    package var actorRole: String?
    /// `anonymized`, false unless it is `true` or `false`.
    package var anonymized = false
    package var callID: String?
    package var holdID: String?
    package var legalBasis: String?
    package var method: String?
    /// Nil when `parties` is not an array.
    package var parties: [Party]?
    package var partyID: String?
    package var purpose: String?
    /// `recipient.country`
    package var recipientCountry: String?
    package var recordingID: String?
    /// The string elements of `recording_ids`; empty when it is not an array.
    package var recordingIDs: [String] = []
    package var regime: String?
    package var requestID: String?
    /// The string elements of `scope`; nil when it is not an array.
    package var scope: [String]?
    /// `subject.subject_ref`
    package var subjectRef: String?

    package init() {}

    /// The same from a tree, read as the fold read the tree before: the reference.
    package init(_ data: JSONValue) {
        actorRole = data["actor"]?["role"]?.stringValue
        anonymized = data["anonymized"]?.boolValue ?? false
        callID = data["call_id"]?.stringValue
        holdID = data["hold_id"]?.stringValue
        legalBasis = data["legal_basis"]?.stringValue
        method = data["method"]?.stringValue
        parties = data["parties"]?.arrayValue?.map { party in
            Party(
                device: party["device"]?.stringValue, jurisdiction: party["jurisdiction"]?.stringValue, partyID: party["party_id"]?.stringValue,
                role: party["role"]?.stringValue, subjectRef: party["subject"]?["subject_ref"]?.stringValue)
        }
        partyID = data["party_id"]?.stringValue
        purpose = data["purpose"]?.stringValue
        recipientCountry = data["recipient"]?["country"]?.stringValue
        recordingID = data["recording_id"]?.stringValue
        recordingIDs = (data["recording_ids"]?.arrayValue ?? []).compactMap(\.stringValue)
        regime = data["regime"]?.stringValue
        requestID = data["request_id"]?.stringValue
        scope = data["scope"]?.arrayValue?.compactMap(\.stringValue)
        subjectRef = data["subject"]?["subject_ref"]?.stringValue
    }

    /// The persons named as the event's subject, by pseudonym (`SubjectKeys`).
    package var subjectKeys: [String] { subjectRef.map { [$0] } ?? [] }
}
