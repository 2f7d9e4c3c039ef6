@testable import CallAuditRuntime
import Foundation
import Testing

@Suite("Thread names the OS shows")
struct ThreadNameTests {
    @Test("names up to 15 bytes are kept whole; longer ones keep their first 15 bytes, never half a character")
    func truncation() {
        #expect(osThreadName("log-fetch") == Array("log-fetch".utf8))
        #expect(osThreadName("fifteen-bytes-x") == Array("fifteen-bytes-x".utf8))
        #expect(osThreadName("callaudit-rebuild-judge") == Array("callaudit-rebui".utf8))
        #expect(osThreadName("") == [])
        // "ä" is 2 bytes, "€" 3: placed so that byte 15 falls inside them.
        #expect(osThreadName("abcdefghijklmnä-x") == Array("abcdefghijklmn".utf8))
        #expect(osThreadName("abcdefghijklm€-x") == Array("abcdefghijklm".utf8))
        #expect(osThreadName("abcdefghijklmnoä") == Array("abcdefghijklmno".utf8))
        #expect(osThreadName("abcdefghijklmä-x") == Array("abcdefghijklmä".utf8), "a whole character that ends at byte 15 is kept")
        #expect(osThreadName("abcdefghijk😀-x") == Array("abcdefghijk😀".utf8))
        #expect(osThreadName("abcdefghijkl😀-x") == Array("abcdefghijkl".utf8))
        for name in ["ääääääääää", "€€€€€€€", "a€€€€€€", "ab€€€€€€"] {
            let kept = osThreadName(name)
            #expect(kept.count <= 15)
            #expect(String(validating: kept, as: UTF8.self) != nil, "\(name) kept as valid UTF-8")
        }
    }

    #if os(Linux)
    @Test("background work runs on a thread the OS knows by its name")
    func backgroundWorkIsNamed() throws {
        let work = BackgroundWork<String, any Error>(name: "bgw-name-test") {
            try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
        }
        #expect(try work.value() == "bgw-name-test\n")
        let long = BackgroundWork<String, any Error>(name: "callaudit-background-long") {
            try String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)
        }
        #expect(try long.value() == "callaudit-backg\n")
    }
    #endif
}
