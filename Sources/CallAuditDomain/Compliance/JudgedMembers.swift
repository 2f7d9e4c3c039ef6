/// The parts of an event's `data` that compliance judges: the members the
/// fold, the facts it keeps (`CallFacts`, `RecordingFacts`, holds, requests)
/// and the rules read, by name, down to the nested members they read.
///
/// A rebuild reads every event of the log, and building the members nobody
/// reads (a party's personal data, sealed subjects, an actor's id, a
/// reason…) was most of what reading an event cost. `FactScanner` builds
/// only these; `prune` gives the same from a whole tree, which is the
/// reference the scanner is tested against.
///
/// Only CallAudit's own events (conflict records, requests) keep their whole
/// `data`: their rules read it freely, and they are few.
package indirect enum JudgedMembers: Sendable {
    /// The value as it stands, whatever it is.
    case whole
    /// Of an object, only the members named (in byte order, which the scanner
    /// relies on: `isInByteOrder`), each kept as its entry says; any other kind of value stays whole.
    case members([JudgedMember])
    /// Of an array, every element kept as this says; any other kind of value stays whole.
    case elements(JudgedMembers)

    /// What compliance reads of a contract event's `data`, whatever its type.
    /// A member judged here that the fold starts to read must be named here:
    /// `FactScannerCorpusTests` folds a simulated month from whole and from
    /// pruned events and requires the same facts.
    package static let contractData: JudgedMembers = .members([
        .init("actor", .members([.init("role")])),
        .init("anonymized"),
        .init("call_id"),
        .init("hold_id"),
        .init("legal_basis"),
        .init("method"),
        .init(
            "parties",
            .elements(.members([
                .init("device"), .init("jurisdiction"), .init("party_id"), .init("role"), .init("subject", .members([.init("subject_ref")])),
            ]))),
        .init("party_id"),
        .init("purpose"),
        .init("recipient", .members([.init("country")])),
        .init("recording_id"),
        .init("recording_ids"),
        .init("regime"),
        .init("request_id"),
        .init("scope"),
        .init("subject", .members([.init("subject_ref")])),
    ])

    /// Whether every list of members, at every level, is in strictly increasing byte order.
    package var isInByteOrder: Bool {
        switch self {
        case .whole: true
        case .elements(let element): element.isInByteOrder
        case .members(let members):
            zip(members, members.dropFirst()).allSatisfy { $0.bytes.lexicographicallyPrecedes($1.bytes) } && members.allSatisfy(\.keep.isInByteOrder)
        }
    }

    /// `value` with only what this keeps, built from a whole tree: the reference.
    package func prune(_ value: JSONValue) -> JSONValue {
        switch (self, value) {
        case (.members(let kept), .object(let members)):
            .object(members.compactMap { member in kept.first { $0.name == member.key }.map { (member.key, $0.keep.prune(member.value)) } })
        case (.elements(let kept), .array(let elements)):
            .array(elements.map(kept.prune))
        default:
            value
        }
    }
}

/// A member `JudgedMembers.members` keeps, with its name's bytes for the scanner.
package struct JudgedMember: Sendable {
    package let name: String
    let bytes: [UInt8]
    package let keep: JudgedMembers

    init(_ name: String, _ keep: JudgedMembers = .whole) {
        self.name = name
        self.bytes = Array(name.utf8)
        self.keep = keep
    }
}

extension FactEvent {
    /// This event as compliance reads it: a contract event's `data` pruned to
    /// `JudgedMembers.contractData`, one of CallAudit's own events whole.
    package var judged: FactEvent {
        guard own == nil else { return self }
        var event = self
        event.data = JudgedMembers.contractData.prune(data)
        return event
    }
}
