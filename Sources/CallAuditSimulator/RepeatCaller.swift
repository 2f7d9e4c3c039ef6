import CallAuditDomain

/// A customer who calls again and again: one in five calls is from one of
/// 25 regulars, who give their phone number, and on some calls their e-mail
/// address (in whatever case they typed it) or customer number. What a DPO
/// answers access and erasure requests for.
///
/// Chosen by a hash of the call id, not the scenario's random stream, so the
/// rest of a seeded simulation is the same with or without them.
package struct RepeatCaller: Sendable, Equatable {
    package static let count = 25

    package let number: Int

    /// Regular `number` (0 to 24).
    package init(number: Int) { self.number = number }

    package var phone: String { "+1415555" + String(1_000 + number).suffix(4) }
    package var email: String { "regular.\(number)@example.com" }
    package var customerID: String { "C-REG-\(number)" }
    package var name: String { "Regular Caller \(number)" }

    /// The regular calling on `callID`, if it is one of theirs.
    static func calling(_ callID: String) -> RepeatCaller? {
        let hash = fnv1a(callID)
        guard hash % 5 == 0 else { return nil }
        return RepeatCaller(number: Int((hash / 5) % UInt64(count)))
    }

    /// What they give on this call: always the phone; the e-mail on some calls, in capitals on some of those; the customer number on others.
    func subject(call callID: String) -> [(key: String, value: JSONValue)] {
        let variant = fnv1a("variant-" + callID) % 4
        var subject: [(key: String, value: JSONValue)] = [("phone", .string(phone))]
        if variant == 1 { subject.append(("email", .string(email))) }
        if variant == 2 { subject.append(("email", .string(email.uppercased()))) }
        if variant == 3 { subject.append(("customer_id", .string(customerID))) }
        subject.append(("name", .string(name)))
        return subject
    }
}

private func fnv1a(_ text: String) -> UInt64 {
    text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
}
