import Testing

@testable import CallAuditDomain

/// One decoder, reused message after message as ingest reuses it, against the
/// reference: events large enough to grow its raw buffers (`OutputBytes`, the
/// reorder buffer), some cut short or broken after the growth (the scan
/// throws midway), each followed by ordinary ones. An event already decoded
/// must keep its bytes and hash whatever is decoded after it.
@Suite("The one-pass decoder's reused buffers: growth, a throw midway, and the next event")
struct OnePassReuseTests {
    static func variants(of raw: String, seed: Int) -> [[UInt8]] {
        let bytes = Array(raw.utf8)
        guard bytes.first == UInt8(ascii: "{") else { return [bytes] }
        let sizes = [100, 1_000, 5_000, 20_000, 70_000]
        let size = sizes[seed % sizes.count]
        let plain = String(repeating: "x", count: size)
        let escaped = String(repeating: #"\u0041\n\"é"#, count: size / 8)
        var out: [[UInt8]] = []
        for pad in [plain, escaped] {
            // An extension attribute first, so sorting moves it (the reorder buffer grows too).
            let padded = Array(#"{"zzpad":""#.utf8) + Array(pad.utf8) + Array(#"","#.utf8) + bytes.dropFirst()
            out.append(padded)
            // Broken after the pad was written: the scan throws with the buffer grown.
            out.append(Array(padded.dropLast(1 + seed % 7)))
            var edited = padded
            edited[edited.count - 2 - seed % 5] = UInt8(ascii: "\\")
            out.append(edited)
            out.append(bytes)
        }
        return out
    }

    @Test("every sample, grown, broken and plain, through one decoder, as the reference decodes it")
    func reusedAcrossMessages() throws {
        let decoder = OnePassDecoder(reference: EventDecoderProperties.decoder)
        let sealing = OnePassDecoder(reference: EventDecoderProperties.decoder, subjectsWillBeSealed: true)
        var kept: [(DecodedEvent, [UInt8], [UInt8])] = []
        var seed = 0
        var grownAndTaken = 0
        for round in 0..<2 {
            for sample in ContractCorpus.samples {
                for bytes in Self.variants(of: sample.raw, seed: seed) {
                    seed += 1
                    let message = IncomingMessage(value: bytes)
                    do {
                        if try DecoderDifferential.check(message, with: decoder), bytes.count > 4_096 { grownAndTaken += 1 }
                        try DecoderDifferential.check(message, with: sealing)
                    } catch {
                        Issue.record("round \(round) \(sample.name) (\(bytes.count) bytes): \(error)")
                    }
                    if case .success(let event) = sealing.decode(message), kept.count < 2_000 {
                        kept.append((event, event.canonical, event.contentHash))
                    }
                }
            }
        }
        #expect(kept.count > 100)
        #expect(grownAndTaken > 20, "events larger than the buffer's first capacity take the fast path")
        for (event, canonical, hash) in kept {
            #expect(event.canonical == canonical && event.contentHash == hash, "an event keeps its bytes after later scans")
        }
    }
}
