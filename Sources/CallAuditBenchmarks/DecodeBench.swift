import ArgumentParser
import CallAuditDomain
import Foundation

/// How fast hostile messages near the size limit decode: every step that
/// touches each member or byte (parse, duplicate check, validation, canonical
/// form, hash) must be linear, or one message stalls the consumer.
///
/// With `--ordinary N`, instead: the simulator's structured-mode events
/// decoded N times over by one decoder, for `perf stat -e instructions` or a
/// malloc counter (run it with N and with 0: the difference over N is the
/// cost per event).
struct DecodeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode", abstract: "Decode hostile CloudEvents of about the size limit; report each shape's rate.")

    enum DecoderKind: String, ExpressibleByArgument {
        case tree
        case onePass = "one-pass"
    }

    @Option(help: "Target size of each message in bytes.") var bytes = DecodingLimits.defaultMaximumBytes - 1_024
    @Option(help: "Seconds to spend on each shape.") var seconds = 2.0
    @Option(help: "Decode this many ordinary (simulated, structured-mode) events instead of the hostile shapes.") var ordinary: Int?
    @Option(help: "Which decoder: tree (the reference) or one-pass.") var decoder: DecoderKind = .tree

    func run() throws {
        if let ordinary { return try OrdinaryDecodeBench.run(events: ordinary, decoder: decoder) }
        let decoder = EventDecoder()
        print("machine: \(machineDescription())")
        print("shape                          bytes    decoded/s       MB/s  slowest ms  verdict")
        for (name, message) in Self.shapes(bytes: bytes) {
            var count = 0
            var slowest = Duration.zero
            var verdict = ""
            let started = ContinuousClock.now
            while started.duration(to: .now).inSeconds < seconds {
                let one = ContinuousClock.now
                switch decoder.decode(IncomingMessage(value: message)) {
                case .success: verdict = "stored"
                case .failure(let rejection): verdict = rejection.reason.rawValue
                }
                slowest = max(slowest, one.duration(to: .now))
                count += 1
            }
            let elapsed = started.duration(to: .now).inSeconds
            let rate = Double(count) / elapsed
            print(
                pad(name, 30) + pad(String(message.count), 9) + pad(String(format: "%9.0f", rate), 15)
                    + pad(String(format: "%6.1f", rate * Double(message.count) / 1e6), 7) + pad(String(format: "%10.2f", slowest.inSeconds * 1000), 12)
                    + verdict)
        }
    }

    /// A valid `call.ended` whose `data` carries the hostile part as extra members, which the contract keeps.
    static func shapes(bytes: Int) -> [(String, [UInt8])] {
        func event(_ extra: String) -> [UInt8] {
            Array(
                #"{"specversion":"1.0","id":"bench-1","source":"bench","type":"call.ended","time":"2026-11-24T10:00:00Z","data":{"call_id":"c-1",\#(extra)}}"#
                    .utf8)
        }
        let keyCount = (bytes - 200) / 12
        let manyKeys = (0..<keyCount).map { String(format: "\"k%06d\":1", $0) }.joined(separator: ",")
        let longString = "\"note\":\"" + String(repeating: "a", count: bytes - 200) + "\""
        let escapes = "\"note\":\"" + String(repeating: #"\u00e9\n"#, count: (bytes - 200) / 8) + "\""
        let depth = JSONParser.maximumDepth - 3
        let nest = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let deepArrays = "\"nest\":[" + Array(repeating: nest, count: (bytes - 200) / (2 * depth + 1)).joined(separator: ",") + "]"
        let manyElements = "\"list\":[" + Array(repeating: "0", count: (bytes - 200) / 2).joined(separator: ",") + "]"
        let manyObjects = "\"list\":[" + Array(repeating: #"{"a":1,"b":2}"#, count: (bytes - 200) / 14).joined(separator: ",") + "]"
        let numbers = "\"list\":[" + (0..<(bytes - 200) / 21).map { _ in "1.2345678901234e-300" }.joined(separator: ",") + "]"
        return [
            ("typical event", event(#""note":"ok""#)),
            ("many keys (\(keyCount))", event(manyKeys)),
            ("one long string", event(longString)),
            ("escapes", event(escapes)),
            ("deep arrays (depth \(depth + 2))", event(deepArrays)),
            ("many array elements", event(manyElements)),
            ("many small objects", event(manyObjects)),
            ("long numbers", event(numbers)),
        ]
    }
}
