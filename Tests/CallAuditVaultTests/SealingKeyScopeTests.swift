import CallAuditDomain
@testable import CallAuditVault
import Testing

/// A person's sealing state (`SealingKey`: the nonce's HMAC keyed, the AES key) belongs to the
/// batch that seals under them: keeping it for every cached person was most of ingest's peak RSS
/// growth in issue 21's fourth pass. The cache keeps the person; the next batch keys them again.
@Suite("Sealing keys live for one batch; the cache keeps persons without them")
struct SealingKeyScopeTests {
    static let phone = PersonLinking.Key(kind: "phone", index: Array("phone:+14155550100".utf8))
    static let customer = PersonLinking.Key(kind: "customer_id", index: Array("customer_id:C-1".utf8))

    @Test("a batch's persons come keyed for sealing, the cache keeps them unkeyed (strong ids kept), the next batch keys them again")
    func keyedPerBatch() {
        var batch = PersonLinking()
        let first = batch.resolve([Self.phone, Self.customer]) { ResolvedSubject(ref: "p1", dataKey: Array(0..<32)) }
        #expect(first.sealing != nil)
        #expect(batch.persons["p1"]?.subject.sealing != nil, "kept keyed for the rest of the batch")

        var cache = SubjectCache()
        cache.remember(batch, indexes: batch.links.map(\.index))
        let cached = cache.persons["p1"]
        #expect(cached?.subject == first, "the same person: ref and data key")
        #expect(cached?.subject.sealing == nil, "no sealing state in the cache")
        #expect(cached?.strong == ["customer_id": Self.customer.index])

        var next = cache.linking(for: [Self.phone.index])
        #expect(next.persons["p1"]?.subject.sealing == nil)
        var made = 0
        let again = next.resolve([Self.phone]) {
            made += 1
            return ResolvedSubject(ref: "other", dataKey: [])
        }
        #expect(again.ref == "p1" && again.sealing != nil)
        #expect(made == 0 && next.created.isEmpty)
    }

    @Test("a person keyed for sealing seals to the same bytes as one keyed on the spot")
    func keyedSealsTheSame() throws {
        for (ref, plaintext, sealed) in SealedSubjectTests.pinned {
            var person = ResolvedSubject(ref: ref, dataKey: Array(0..<32))
            let keyed = person.keyedForSealing()
            #expect(keyed.sealing != nil && ResolvedSubject(ref: ref, dataKey: Array(0..<32)).sealing == nil)
            let bytes = try SealedSubject.canonicalBytes(of: Array(plaintext.utf8)[...], as: keyed)
            #expect(String(decoding: bytes, as: UTF8.self) == sealed)
            // Twice under one keyed state: nothing of the first seal is left in it.
            #expect(try SealedSubject.canonicalBytes(of: Array(plaintext.utf8)[...], as: keyed) == bytes)
        }
    }
}

@Suite("A new person's pseudonym")
struct SubjectRefTests {
    @Test("sub_ and the lowercase hex of the random bytes, as before")
    func format() {
        for _ in 0..<50 {
            let random = (0..<SubjectRef.randomByteCount).map { _ in UInt8.random(in: 0...255) }
            #expect(SubjectRef.ref(for: random) == "sub_" + random.hexString)
        }
        #expect(SubjectRef.ref(for: [0x00, 0x0f, 0xa0, 0xff]) == "sub_000fa0ff")
        var pool = RandomPool()
        let ref = SubjectRef.random(from: &pool)
        #expect(ref.utf8.count == 28 && ref.hasPrefix("sub_"))
        #expect(ref.dropFirst(4).allSatisfy { "0123456789abcdef".contains($0) })
    }
}
