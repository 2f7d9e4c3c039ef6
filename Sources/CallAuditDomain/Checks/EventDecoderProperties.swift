import Crypto

/// What `EventDecoder` promises, checked on any Kafka message:
///
/// - a rejection's detail names attributes, paths and limits only, never a
///   value of the message (values may be personal data, and the detail reaches
///   logs and the dead-letter store);
/// - an accepted event is the same event in both CloudEvents modes (same
///   canonical bytes, same content hash), and its stored form decodes again to
///   the same event;
/// - decoding is deterministic.
///
/// Shared by the `decoder` fuzz target and its regression test.
package enum EventDecoderProperties {
    /// A fixed clock, so an input decodes the same way on every run.
    package static let now = Timestamp(microseconds: 1_795_521_600_000_000)  // 2026-11-24T12:00:00Z
    package static let decoder = EventDecoder(clock: { now })

    /// The fuzz input as a Kafka message. Without the `H\n` prefix the whole
    /// input is the value (structured mode, no headers). With it, header lines
    /// `name:value` (one optional space after the colon; a line without a colon
    /// is a header with a null value) run up to an empty line, and the rest is
    /// the value; without the empty line the value is null (a tombstone).
    package static func message(fromFuzzInput input: [UInt8]) -> IncomingMessage {
        guard input.starts(with: [UInt8(ascii: "H"), 0x0A]) else { return IncomingMessage(value: input) }
        var headers: [(key: String, value: [UInt8]?)] = []
        var rest = input[2...]
        while let newline = rest.firstIndex(of: 0x0A) {
            let line = rest[..<newline]
            rest = rest[(newline + 1)...]
            if line.isEmpty { return IncomingMessage(headers: headers, value: Array(rest)) }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                headers.append((key: String(decoding: line, as: UTF8.self), value: nil))
                continue
            }
            var value = line[(colon + 1)...]
            if value.first == 0x20 { value = value.dropFirst() }
            headers.append((key: String(decoding: line[..<colon], as: UTF8.self), value: Array(value)))
        }
        if !rest.isEmpty { headers.append((key: String(decoding: rest, as: UTF8.self), value: nil)) }
        return IncomingMessage(headers: headers, value: nil)
    }

    package static func check(_ input: [UInt8]) throws(PropertyViolation) {
        let message = message(fromFuzzInput: input)
        let first = decoder.decode(message)
        let second = decoder.decode(message)
        switch (first, second) {
        case (.failure(let rejection), .failure(let again)):
            try PropertyViolation.require(rejection == again, "decoding is deterministic")
            try checkNamesNoValues(rejection, of: message)
        case (.success(let event), .success(let again)):
            try PropertyViolation.require(event.canonical == again.canonical, "decoding is deterministic")
            try checkAccepted(event, from: message)
        default:
            throw PropertyViolation("decoding is deterministic")
        }
    }

    // MARK: - Accepted events

    private static func checkAccepted(_ event: DecodedEvent, from message: IncomingMessage) throws(PropertyViolation) {
        try PropertyViolation.require(event.canonical == event.document.canonicalBytes, "the stored bytes are the document's canonical form")
        try PropertyViolation.require(event.contentHash == Array(SHA256.hash(data: event.canonical)), "the content hash is SHA-256 of the stored bytes")
        try PropertyViolation.require(event.time >= now.adding(.zero - decoder.limits.maximumAge), "an accepted time is not too old")
        try PropertyViolation.require(event.time <= now.adding(decoder.limits.maximumLead), "an accepted time is not too far ahead")
        try PropertyViolation.require(!event.id.isEmpty && !event.source.isEmpty, "id and source are not empty")

        // The stored form, read back as a structured message (dead-letter replay, rebuilds), is the same event.
        let stored = IncomingMessage(headers: [(key: "content-type", value: Array("application/cloudevents+json".utf8))], value: event.canonical)
        try expectSameEvent(decoder.decode(stored), as: event, "its stored form, read in structured mode")

        // The same event in binary mode: ce_* headers for the attributes, the data as the value.
        if let binary = binaryMessage(for: event.document) {
            try expectSameEvent(decoder.decode(binary), as: event, "its attributes as ce_* headers and its data as the value (binary mode)")
        }
    }

    private static func expectSameEvent(_ result: Result<DecodedEvent, Rejection>, as event: DecodedEvent, _ form: String) throws(PropertyViolation) {
        switch result {
        case .failure(let rejection):
            throw PropertyViolation("an accepted event is accepted again as \(form), not rejected (\(rejection))")
        case .success(let other):
            try PropertyViolation.require(
                other.canonical == event.canonical && other.contentHash == event.contentHash,
                "an accepted event has the same canonical bytes and content hash as \(form)")
            try PropertyViolation.require(
                other.source == event.source && other.id == event.id && other.typeName == event.typeName && other.time == event.time
                    && other.stream == event.stream,
                "an accepted event has the same source, id, type, time and stream as \(form)")
        }
    }

    /// Binary mode can carry an event whose attributes are all strings with
    /// CloudEvents attribute names (lowercase letters and digits); nil otherwise.
    private static func binaryMessage(for document: JSONValue) -> IncomingMessage? {
        guard let members = document.objectValue, let data = document["data"] else { return nil }
        var headers: [(key: String, value: [UInt8]?)] = []
        for member in members where member.key != "data" {
            guard let text = member.value.stringValue, !member.key.isEmpty,
                member.key.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) })
            else { return nil }
            headers.append((key: "ce_" + member.key, value: Array(text.utf8)))
        }
        return IncomingMessage(headers: headers, value: data.canonicalBytes)
    }

    // MARK: - Rejections

    /// The detail is built from the decoder's own words, the contract's names,
    /// the message's header names and small numbers, and repeats no value the
    /// message carries (JSON strings, header values).
    static func checkNamesNoValues(_ rejection: Rejection, of message: IncomingMessage) throws(PropertyViolation) {
        let detail = rejection.detail
        // Header names are names, not values: a detail may quote them ("header ce_id appears more than once").
        let names = message.headers.flatMap { [$0.key, $0.key.lowercased()] }
        let nameWords = Set(names.flatMap { words(in: $0) })
        let nameDigits = Set(names.flatMap { digitRuns(in: $0) })
        for word in words(in: detail) where !Vocabulary.words.contains(word) && !nameWords.contains(word) {
            throw PropertyViolation("a rejection's detail uses only the decoder's and the contract's words, not '\(word)': \(detail)")
        }
        for run in digitRuns(in: detail) where run.count > 6 && !nameDigits.contains(run) {
            throw PropertyViolation("a rejection's detail holds no long digit string (a phone number?), not '\(run)': \(detail)")
        }
        // A value that only appears inside a quoted header name is not repeated as a value.
        let unnamed = names.sorted { $0.utf8.count > $1.utf8.count }.reduce(Array(detail.utf8)) { removing(Array($1.utf8), from: $0) }
        for value in values(of: message) where value.unicodeScalars.count >= 4 && contains(unnamed, Array(value.utf8)) && !Vocabulary.covers(value) {
            throw PropertyViolation("a rejection's detail repeats no value of the message: \(detail)")
        }
    }

    /// Every string the message carries: header values, JSON string values in the
    /// value (parsed when it parses, and the text between any two quotes otherwise).
    private static func values(of message: IncomingMessage) -> [String] {
        var found = message.headers.compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        let value = message.value ?? []
        if let document = try? JSONParser.parse(value) {
            collectStrings(document, into: &found)
        }
        let quoted = value.split(separator: UInt8(ascii: "\""), omittingEmptySubsequences: true)
        found += quoted.map { String(decoding: $0, as: UTF8.self) }
        return found
    }

    private static func collectStrings(_ value: JSONValue, into found: inout [String]) {
        switch value {
        case .string(let s): found.append(s)
        case .array(let elements): for element in elements { collectStrings(element, into: &found) }
        case .object(let members): for member in members { collectStrings(member.value, into: &found) }
        default: break
        }
    }

    /// Byte for byte: Swift's `contains` compares characters, which could miss a value split inside a grapheme.
    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        range(of: needle, in: haystack, from: 0) != nil
    }

    private static func range(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Range<Int>? {
        guard !needle.isEmpty, needle.count <= haystack.count - start else { return nil }
        return (start...(haystack.count - needle.count)).lazy.map { $0..<($0 + needle.count) }.first { haystack[$0].elementsEqual(needle) }
    }

    /// `text` with every occurrence of `part` replaced by a NUL byte.
    private static func removing(_ part: [UInt8], from text: [UInt8]) -> [UInt8] {
        var result: [UInt8] = []
        var index = 0
        while let found = range(of: part, in: text, from: index) {
            result += text[index..<found.lowerBound] + [0]
            index = found.upperBound
        }
        return result + text[index...]
    }

    /// Runs of letters, `_` and any non-ASCII scalar: what a word of prose, a
    /// contract name or a leaked value would be made of.
    static func words(in text: String) -> [String] {
        var result: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.properties.isAlphabetic || scalar == "_" || !scalar.isASCII {
                current.append(scalar)
            } else if !current.isEmpty {
                result.append(String(current))
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { result.append(String(current)) }
        return result
    }

    private static func digitRuns(in text: String) -> [Substring] {
        text.split { !("0"..."9").contains($0) }
    }

    /// What a rejection's detail may say.
    enum Vocabulary {
        /// The prose of the decoder's, the parser's and the validator's messages. A new word in one of
        /// their messages belongs here (the `decoder` fuzz target fails on a word it does not know).
        static let prose = """
            a address after an and appears application array at attribute be boolean by byte bytes cannot character \
            characters cloudevents code content contract control date days deeper digits duplicate e empty end error \
            escape event exceeds expected false field found future header hexadecimal hours in input integer invalid is \
            it item itself least limit literal longer lowercase mail member message more must name needs nesting non not \
            null number object of offset once one optionally or out past pattern producers publish range required string \
            subdivision surrogate than the to true type types unescaped unexpected unpaired unterminated up value with \
            written JSON RFC UTF ISO CallAudit alpha US CA A E F Z u \
            personal outside identifiers names belong where they are sealed reserved writes begin dsr its own way \
            contains NUL unprintable long key headers urn callaudit s ce ce_ so under extension that
            """

        static let words: Set<String> = {
            var words = Set(prose.split(whereSeparator: \.isWhitespace).map(String.init))
            var names: [String] = ["specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "subject", "data"]
            names += EventType.allCases.map(\.rawValue) + OwnEventType.allCases.map(\.rawValue)
            for type in EventType.allCases { collect(.object(EventContract.data(of: type)), into: &names) }
            for name in names { words.formUnion(EventDecoderProperties.words(in: name)) }
            return words
        }()

        /// Every piece of a vocabulary word: a value made of these may appear in a detail as part of the decoder's own text.
        static let pieces: Set<Substring> = Set(words.flatMap { word in
            word.indices.flatMap { start in word[start...].indices.map { end in word[start...end] } }
        })

        /// A value the decoder's own words account for (it may then appear in a detail as one of them):
        /// its words are pieces of vocabulary words, and it has fewer than 7 digits in all, so a phone
        /// number stays a value however it is spaced ("+1 415 555 0100").
        static func covers(_ value: String) -> Bool {
            EventDecoderProperties.words(in: value).allSatisfy { pieces.contains(Substring($0)) }
                && value.utf8.filter { (0x30...0x39).contains($0) }.count < 7
        }

        private static func collect(_ shape: Shape, into names: inout [String]) {
            switch shape {
            case .oneOf(let allowed): names += allowed
            case .pattern(let pattern): names.append(pattern.summary)
            case .list(let element, _), .nullable(let element): collect(element, into: &names)
            case .object(let object):
                for field in object.fields {
                    names.append(field.name)
                    collect(field.shape, into: &names)
                }
                names += object.reserved
            case .nonEmptyString, .identifier, .text, .string, .boolean, .integer, .number: break
            }
        }
    }
}
