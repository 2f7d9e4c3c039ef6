import CallAuditStore
import CallAuditVault
import Crypto
import Testing

@testable import CallAuditDomain

extension DatabaseTests {
/// The seal stage seals the batch it owns in place (`SubjectVault.seal(_:on:)`
/// with an `inout` array): no copy of the array, the same bytes as sealing a
/// tree, what the events held in the clear handed back, and nothing changed
/// when it fails for a reason a retry mends.
@Suite("Sealing a batch in place")
struct SealInPlaceTests {
    /// Two calls, as messages: only each call's start names persons (a customer, an agent, and
    /// a customer whose e-mail holds an escape, so that subject is read by parsing it).
    static func messages() -> [IncomingMessage] {
        ["1", "2"].flatMap { call in
            Events.recordedCall("c\(call)", at: "2026-11-20T10:00:00Z", parties: [
                Events.party("p1", "customer", ["phone": .string("+4915100000\(call)"), "name": "A. Caller"]),
                Events.party("p2", "agent", ["employee_id": "E-7"]),
                Events.party("p3", "customer", ["email": .string("q\"uote\(call)@example.com")]),
            ])
        }.map { IncomingMessage(value: $0.canonicalBytes) }
    }

    /// As ingest decodes them with a KEK: in their bytes, subjects' ranges kept, hashes left for sealing.
    static func decoded() throws -> [IncomingEvent] {
        let decoder = OnePassDecoder(reference: EventDecoder(), subjectsWillBeSealed: true)
        return try messages().map { IncomingEvent(event: try decoder.decode($0).get(), origin: nil) }
    }

    static func address(_ events: [IncomingEvent]) -> UInt {
        events.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
    }

    @Test("sealed where they are: the same bytes as a tree sealed by walking, hashed, the clear bytes handed back")
    func sealedInPlace() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let owner = try database.owner()
        let vault = try SubjectVault.open(keys: testKeys, on: owner)
        var events = try Self.decoded()
        let read = events.map(\.event.canonical)
        let named = events.indices.filter { events[$0].event.subjectRanges?.isEmpty == false }
        #expect(named.count == 2)
        let address = Self.address(events)

        let cleartext = try vault.seal(&events, on: owner)

        #expect(Self.address(events) == address, "sealed without copying the array")
        #expect(cleartext.map(\.canonical) == named.map { read[$0] }, "each sealed event's clear bytes, in order")
        let trees = try Self.messages().map { IncomingEvent(event: try EventDecoder().decode($0).get(), origin: nil) }
        let walked = try vault.seal(trees, on: owner)
        #expect(events.map(\.event.canonical) == walked.map(\.event.canonical))
        for index in events.indices {
            let event = events[index].event
            #expect(event.isHashed && event.contentHash == Array(SHA256.hash(data: event.canonical)))
            #expect(named.contains(index) == (event.canonical != read[index]), "only events that name persons change")
            let opened = try event.subjectObjects.map { try vault.openSubject($0, on: owner) }
            #expect(opened == trees[index].event.subjectObjects, "each sealed subject opens to the one read")
        }
    }

    @Test("a failure a retry mends (here the database's) leaves every event as it was read")
    func failureChangesNothing() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let owner = try database.owner()
        let vault = try SubjectVault.open(keys: testKeys, on: owner)
        var events = try Self.decoded()
        let read = events.map(\.event.canonical)
        let ranges = events.map(\.event.subjectRanges)
        try owner.execute("BEGIN")
        #expect(throws: (any Error).self) { try owner.execute("SELECT 1/0") }
        #expect(throws: PostgresError.self) { _ = try vault.seal(&events, on: owner) }
        try owner.execute("ROLLBACK")
        #expect(events.map(\.event.canonical) == read)
        #expect(events.map(\.event.subjectRanges) == ranges)
        // The retry seals them.
        #expect(try vault.seal(&events, on: owner).count == 2)
        #expect(zip(events, read).filter { $0.0.event.canonical != $0.1 }.count == 2)
    }
}
}
