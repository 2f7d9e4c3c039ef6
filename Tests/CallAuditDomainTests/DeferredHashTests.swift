import Crypto
import Testing

@testable import CallAuditDomain

/// When the vault seals every subject object before events are stored, the
/// one-pass decoder leaves out the hash of an event that holds one: sealing
/// makes the event again from its sealed bytes, hashed, and that is the hash
/// stored. Every other event is hashed as it is decoded.
@Suite("The first hash of an event the vault will seal is left out")
struct DeferredHashTests {
    static func message(_ type: EventType) -> IncomingMessage {
        IncomingMessage(value: Array(ContractCorpus.event(type.rawValue, data: ContractCorpus.validData(type)).canonicalBytes))
    }

    static func decoded(_ type: EventType, sealing: Bool) throws -> DecodedEvent {
        let decoder = OnePassDecoder(reference: EventDecoderProperties.decoder, subjectsWillBeSealed: sealing)
        #expect(decoder.scan(message(type)), "\(type) takes the fast path")
        return try decoder.decode(message(type)).get()
    }

    @Test("an event with subjects, sealing on: no hash taken, and the sealed event's is SHA-256 of its own bytes")
    func subjectsSealedLater() throws {
        let event = try Self.decoded(.callStarted, sealing: true)
        #expect(event.subjectRanges?.isEmpty == false)
        #expect(!event.isHashed)
        // Read before sealing, it is still the hash of the bytes.
        #expect(event.contentHash == Array(SHA256.hash(data: event.canonical)))
        let standIns: [JSONValue] = event.subjectObjects.indices.map { ["subject_ref": .string("sub_\($0)"), "sealed": "AAAA"] }
        let sealed = event.replacingSubjects(with: standIns)
        #expect(sealed.isHashed)
        #expect(sealed.contentHash == Array(SHA256.hash(data: sealed.canonical)))
        #expect(sealed.contentHash != event.contentHash, "the stored hash is the sealed form's, not the message's")
    }

    @Test("hashed as decoded: an event without subjects, and any event when nothing is sealed")
    func hashedOtherwise() throws {
        for (type, sealing) in [(EventType.callEnded, true), (.callEnded, false), (.callStarted, false)] {
            let event = try Self.decoded(type, sealing: sealing)
            #expect(event.isHashed, "\(type), sealing \(sealing)")
            #expect(event.contentHash == Array(SHA256.hash(data: event.canonical)))
        }
    }
}
