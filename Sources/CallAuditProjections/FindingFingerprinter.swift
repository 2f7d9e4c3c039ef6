import CallAuditDomain
import Crypto

/// Fingerprints findings (`FindingsTable.fingerprint(of:)`) from two reused
/// buffers. A rebuild fingerprints every finding it raises, and joining eight
/// `String`s into a ninth, then copying it into an array, cost about 2,000
/// instructions per event of the log.
struct FindingFingerprinter {
    private var text: [UInt8] = []
    private var hex: [UInt8] = []

    init() {
        text.reserveCapacity(1_024)
        hex.reserveCapacity(32)
    }

    /// Lowercase hex of the first 128 bits of SHA-256 over what a re-judgement
    /// can change, joined by U+001F (the evidence ids by spaces). The digest is
    /// stored in `findings.fingerprint`: its text must never change.
    mutating func fingerprint(of finding: Finding) -> [UInt8] {
        hex.removeAll(keepingCapacity: true)
        SHA256.hash(data: text(of: finding)).withUnsafeBytes { digest in
            for byte in digest.prefix(16) {
                hex.append(Self.hexDigit(byte >> 4))
                hex.append(Self.hexDigit(byte & 0x0F))
            }
        }
        return hex
    }

    /// What `fingerprint(of:)` digests.
    mutating func text(of finding: Finding) -> [UInt8] {
        text.removeAll(keepingCapacity: true)
        append(finding.severity.rawValue)
        separate()
        finding.occurredAt.writeRFC3339(into: &text)
        separate()
        append(finding.jurisdiction ?? "")
        separate()
        append(finding.citation)
        separate()
        for (index, id) in finding.evidence.enumerated() {
            if index > 0 { text.append(UInt8(ascii: " ")) }
            append(id)
        }
        separate()
        append(finding.detail)
        separate()
        append(finding.policyVersion)
        separate()
        append(finding.policyHash)
        return text
    }

    private mutating func append(_ string: String) { text.append(contentsOf: string.utf8) }

    private mutating func separate() { text.append(0x1F) }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble }
}
