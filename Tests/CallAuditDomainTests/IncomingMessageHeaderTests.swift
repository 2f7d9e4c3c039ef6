import Testing

@testable import CallAuditDomain

/// Header lookup by lowercased name, compared byte by byte when both names are ASCII.
@Suite("A message's header by lowercased name")
struct IncomingMessageHeaderTests {
    @Test("the same answer as `key.lowercased() == name`, ASCII or not")
    func sameAsLowercased() {
        let keys = [
            "ce_specversion", "CE_SpecVersion", "ce_specversioN", "ce_specversio", "ce_specversions", "content-type", "Content-Type",
            "CONTENT-TYPE", "\u{212A}ey", "KEY", "k\u{0301}ey", "ce_İd", "ce_id", "", "[@`{", "Ce_Id",
        ]
        let names = ["ce_specversion", "content-type", "key", "ce_id", "", "[@`{", "\u{212A}ey", "ce_i̇d"]
        for key in keys {
            for name in names {
                #expect(IncomingMessage.lowercased(key, equals: name) == (key.lowercased() == name), "\(key) against \(name)")
            }
        }
    }

    @Test("the last header of that name, in any case; the Kelvin sign lowers to k as in Swift")
    func lastMatchingHeader() {
        let message = IncomingMessage(
            headers: [("CE_ID", [1]), ("ce_type", [2]), ("Ce_Id", [3]), ("\u{212A}EY", [4]), ("ce_specversion", nil)], value: nil)
        #expect(message.header("ce_id") == [3])
        #expect(message.header("ce_type") == [2])
        #expect(message.header("key") == [4])
        #expect(message.header("ce_source") == nil)
        #expect(message.header("ce_specversion") == nil)
        #expect(message.headers.contains { $0.key == "ce_specversion" })
    }
}
