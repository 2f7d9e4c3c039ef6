import Foundation
@main struct Harness {
    static func main() {
        if CommandLine.arguments.count > 2 && CommandLine.arguments[1] != "fuzz" { HarnessBench.run(CommandLine.arguments[1], Int(CommandLine.arguments[2])!); return }
        let fast = OnePassDecoder(reference: EventDecoderProperties.decoder)
        
        func run(_ name: String, _ body: () throws(PropertyViolation) -> Bool) {
            total += 1
            do { if try body() { took += 1 } } catch { failures += 1; if failures < 30 { print("FAIL \(name): \(error)") } }
        }
        func reversed(_ value: JSONValue) -> JSONValue {
            switch value {
            case .object(let members): .object(members.reversed().map { (key: $0.key, value: reversed($0.value)) })
            case .array(let elements): .array(elements.map(reversed))
            default: value
            }
        }
        for sample in ContractCorpus.samples {
            let bytes = Array(sample.raw.utf8)
            var layouts = [("raw", bytes)]
            if let v = try? JSONParser.parse(bytes) { layouts.append(("rev", reversed(v).compactBytes)) }
            for (l, b) in layouts {
                run("\(sample.name) \(l)") { () throws(PropertyViolation) in
                    let t = try DecoderDifferential.check(IncomingMessage(value: b), with: fast)
                    if sample.valid && sample.name.hasSuffix(" valid") && !t { print("NOT FAST: \(sample.name) \(l)") }
                    return t
                }
            }
        }
        print("corpus: \(took) fast of \(total), \(failures) failures")
        let root = ProcessInfo.processInfo.environment["FUZZ_ROOT"] ?? "FuzzTesting"
        for folder in ["Corpus", "FailCases"] {
            for target in (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)")) ?? [] {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)/\(target)")) ?? [] {
                    let input = Array(FileManager.default.contents(atPath: "\(root)/\(folder)/\(target)/\(name)")!)
                    run("\(folder)/\(target)/\(name)") { () throws(PropertyViolation) in try DecoderDifferential.check(fuzzInput: input); return false }
                }
            }
        }
        print("all: \(took) fast of \(total), \(failures) failures")

        // Mutations of every seed: random bytes replaced, inserted, deleted, and contract tokens spliced in.
        var seeds: [[UInt8]] = ContractCorpus.samples.map { Array($0.raw.utf8) }
        seeds += ContractCorpus.samples.compactMap { try? JSONParser.parse(Array($0.raw.utf8)) }.map { reversed($0).compactBytes }
        let tokens: [[UInt8]] = ["\\u0000", "\\\"", "\\ud800", "\\u00e9", "é", "\u{FF}", "1e400", "-0", "1.50", "1E2", "{}", "[]", "null", "\"subject\":{\"name\":\"x\"}", "\"name\":1", "\"data\":{}", "\"type\":\"call.ended\"", ",", ":", "\"", " ", "0", "\"sealed\":\"x\"", "\"subject_ref\":\"s\"", "\"dsr-1\"", "\"urn:callaudit\"", "\\/", "\"\"", "true"].map { Array($0.utf8) }
        var rng = SystemRandomNumberGenerator()
        let rounds = Int(CommandLine.arguments.dropFirst().first ?? "0") ?? 0
        for round in 0..<rounds {
            var input = seeds[Int.random(in: 0..<seeds.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...3, using: &rng) where !input.isEmpty {
                let at = Int.random(in: 0..<input.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: input[at] = UInt8.random(in: 0...255, using: &rng)
                case 1: input.remove(at: at)
                case 2: input.insert(contentsOf: tokens[Int.random(in: 0..<tokens.count, using: &rng)], at: at)
                default: input.insert(UInt8.random(in: 0x20...0x7e, using: &rng), at: at)
                }
            }
            run("mutant \(round): \(String(decoding: input, as: UTF8.self))") { () throws(PropertyViolation) in
                try DecoderDifferential.check(IncomingMessage(value: input), with: fast)
            }
            if round % 10 == 0 { seeds.append(input) }
        }
        print("mutants: \(took) fast of \(total), \(failures) failures")
        
    }
}
nonisolated(unsafe) var took = 0, total = 0, failures = 0
