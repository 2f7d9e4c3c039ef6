@testable import CallAuditVault
import Testing

/// The linking rule on its own, without a database: which subjects are one person.
@Suite("When two identifiers belong to one person")
struct PersonLinkingTests {
    /// Subjects resolved in order against an empty vault; the person each one became.
    private func people(_ subjects: [[(String, String)]]) -> (refs: [String], linking: PersonLinking) {
        var linking = PersonLinking()
        var next = 0
        let refs = subjects.map { identifiers in
            linking.resolve(identifiers.map(Self.key)) {
                next += 1
                return ResolvedSubject(ref: "p\(next)", dataKey: [])
            }.ref
        }
        return (refs, linking)
    }

    /// A stand-in for a blind index: the kind and value, as bytes.
    static func key(_ identifier: (String, String)) -> PersonLinking.Key {
        PersonLinking.Key(kind: identifier.0, index: Array("\(identifier.0):\(identifier.1)".utf8))
    }

    @Test("a customer id two live persons hold (a race, a hand edit) names the first of them, always, and is never linked again")
    func strongIdHeldTwiceNamesOneHolder() {
        let customer = Self.key(("customer_id", "C"))
        var linking = PersonLinking(entries: [customer.index: .shared(["p9", "p3"])], persons: [
            "p3": PersonLinking.Person(subject: ResolvedSubject(ref: "p3", dataKey: []), strong: ["customer_id": customer.index]),
            "p9": PersonLinking.Person(subject: ResolvedSubject(ref: "p9", dataKey: []), strong: ["customer_id": customer.index]),
        ])
        let alone = linking.resolve([customer]) { ResolvedSubject(ref: "new", dataKey: []) }
        let withPhone = linking.resolve([customer, Self.key(("phone", "+14155550100"))]) { ResolvedSubject(ref: "new", dataKey: []) }
        #expect(alone.ref == "p3" && withPhone.ref == "p3")
        #expect(linking.created.isEmpty)
        #expect(linking.links.map(\.kind) == ["phone"], "the customer id is not linked to anyone again")
    }

    @Test("two customers calling from one switchboard number stay two persons, and the number then names neither")
    func switchboardNumberNeverMerges() {
        let (refs, linking) = people([
            [("customer_id", "A"), ("phone", "+14155550000")], [("customer_id", "A"), ("phone", "+14155550000")],
            [("customer_id", "B"), ("phone", "+14155550000")], [("customer_id", "B"), ("phone", "+14155550000")],
            [("customer_id", "A"), ("phone", "+14155550000")],
        ])
        #expect(refs == ["p1", "p1", "p2", "p2", "p1"])
        #expect(linking.find([Self.key(("customer_id", "B"))]).refs == ["p2"])
        #expect(linking.find([Self.key(("customer_id", "A"))]).refs == ["p1"])
        let byPhone = linking.find([Self.key(("phone", "+14155550000"))])
        #expect(byPhone.refs.isEmpty && byPhone.shared == ["phone"], "a shared number names nobody")
        let both = linking.find([Self.key(("customer_id", "B")), Self.key(("phone", "+14155550000"))])
        #expect(both.refs == ["p2"], "the customer id decides; the shared number adds no one")
    }

    @Test("a phone first seen alone, then with a customer id, is one person; a phone-only caller later is that person")
    func phoneThenCustomerIsOnePerson() {
        let (refs, _) = people([
            [("phone", "+14155550100")], [("phone", "+14155550100"), ("customer_id", "C")], [("phone", "+14155550100")],
            [("customer_id", "C")],
        ])
        #expect(refs == ["p1", "p1", "p1", "p1"])
    }

    @Test("a phone that names a person with another customer id is not taken as theirs")
    func disagreeingStrongIdentifierWins() {
        let (refs, linking) = people([[("customer_id", "A"), ("email", "x@example.com")], [("customer_id", "B"), ("email", "x@example.com")]])
        #expect(refs == ["p1", "p2"])
        #expect(linking.find([Self.key(("email", "x@example.com")), Self.key(("customer_id", "B"))]).refs == ["p2"])
    }

    @Test("an e-mail seen with two phone-only persons becomes shared; each phone still names its own")
    func weakIdentifiersSeenWithTwoPersonsAreShared() {
        let (refs, linking) = people([[("phone", "+441111")], [("phone", "+442222")], [("phone", "+442222"), ("email", "a@b.c")], [("phone", "+441111"), ("email", "a@b.c")]])
        #expect(refs == ["p1", "p2", "p2", "p1"])
        #expect(linking.find([Self.key(("email", "a@b.c"))]).shared == ["email"])
        #expect(linking.find([Self.key(("phone", "+441111"))]).refs == ["p1"])
    }

    @Test("a person holds one id of each strong kind: a second customer id met beside their employee id stays unlinked")
    func oneStrongIdentifierPerKind() {
        let (refs, linking) = people([[("employee_id", "E"), ("customer_id", "A")], [("employee_id", "E"), ("customer_id", "Z")]])
        #expect(refs == ["p1", "p1"], "the first strong id found decides (customer A is unknown to the second subject's customer Z)")
        #expect(linking.find([Self.key(("customer_id", "Z"))]).refs.isEmpty, "Z was never linked to p1")
        #expect(linking.links.filter { $0.kind == "customer_id" }.count == 1)
    }

    @Test("links are planned once: a subject seen again adds nothing to store")
    func linksArePlannedOnce() {
        let (_, linking) = people([[("phone", "+441111"), ("email", "a@b.c")], [("email", "a@b.c"), ("phone", "+441111")]])
        #expect(linking.links.count == 2 && linking.created.count == 1)
    }
}
