import CallAuditDomain
import CallAuditStore

/// Writes findings' COPY rows (`FindingsTable.copyStatement`'s columns) from
/// reused buffers: the finding's key and its evidence's array literal as
/// bytes, the same bytes `FindingsTable.key(of:)` and `postgresArrayLiteral`
/// give. A rebuild writes a row for every finding of the log, and building
/// those two `String`s cost more than the rest of the row.
struct FindingRows {
    private var fingerprinter = FindingFingerprinter()
    private var scratch: [UInt8] = []

    init() { scratch.reserveCapacity(256) }

    /// One row; the key is written from the finding when `key` is nil.
    mutating func append(_ finding: Finding, key: String?, subject: String, to rows: inout CopyTextEncoder) {
        rows.text(finding.rule.rawValue)
        rows.text(finding.severity.rawValue)
        rows.timestamp(finding.occurredAt)
        for id in [finding.callID, finding.recordingID, finding.partyID, finding.requestID, finding.jurisdiction] {
            if let id { rows.text(id) } else { rows.null() }
        }
        rows.text(finding.citation)
        rows.text(bytes: arrayLiteral(finding.evidence))
        rows.text(finding.detail)
        rows.text(finding.policyVersion)
        rows.text(finding.policyHash)
        rows.text(bytes: fingerprinter.fingerprint(of: finding))
        if let key { rows.text(key) } else { rows.text(bytes: self.key(of: finding)) }
        rows.text(subject)
        rows.text("open")
        rows.endRow()
    }

    /// `FindingsTable.key(of:)`'s UTF-8.
    mutating func key(of finding: Finding) -> [UInt8] {
        scratch.removeAll(keepingCapacity: true)
        append(finding.rule.rawValue)
        for part in [finding.callID, finding.recordingID, finding.partyID, finding.requestID, FindingsTable.anchor(of: finding)] {
            scratch.append(UInt8(ascii: "|"))
            append(part ?? "")
        }
        return scratch
    }

    /// `postgresArrayLiteral(elements)`'s UTF-8: each element quoted, its quotes and backslashes escaped.
    mutating func arrayLiteral(_ elements: [String]) -> [UInt8] {
        scratch.removeAll(keepingCapacity: true)
        scratch.append(UInt8(ascii: "{"))
        for (index, element) in elements.enumerated() {
            if index > 0 { scratch.append(UInt8(ascii: ",")) }
            scratch.append(UInt8(ascii: "\""))
            var element = element
            element.withUTF8 { utf8 in
                for byte in utf8 {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { scratch.append(UInt8(ascii: "\\")) }
                    scratch.append(byte)
                }
            }
            scratch.append(UInt8(ascii: "\""))
        }
        scratch.append(UInt8(ascii: "}"))
        return scratch
    }

    private mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { scratch.append(contentsOf: $0) }
    }
}
