import CallAuditDomain

/// Where the vault finds the subject objects it seals.
enum SubjectPaths {
    /// Every subject object in the event's data, wherever it sits and whatever
    /// it holds, in document order: the decoder refuses the vault's own
    /// members (`sealed`, `subject_ref`) in incoming events, so nothing here
    /// is sealed already. `DecodedEvent.replacingSubjects` puts them back sealed.
    static func subjects(in event: DecodedEvent) -> [JSONValue] {
        // The one-pass decoder looked already, and found none: no tree to read.
        guard !event.holdsNoSubjects else { return [] }
        return event.subjectObjects
    }
}
