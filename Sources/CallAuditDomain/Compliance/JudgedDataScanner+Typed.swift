/// `JudgedData` straight from a contract event's `data` bytes: each judged
/// member read into its field where it lies, every other member checked and
/// skipped, no tree built. As strict as the rest of the scanner (`Unsure` for
/// anything it does not decide: an escape in a string, a name out of order…),
/// and a member of another kind than the one read is checked, then nil, as
/// `JudgedData.init(_:)` reads it from the tree.
extension JudgedDataScanner {
    /// The `data` at `index`, one level below the document's root.
    mutating func judgedData() throws(Unsure) -> JudgedData {
        var data = JudgedData()
        guard try peek() == UInt8(ascii: "{") else {
            try skip(depth: 1)
            return data
        }
        try forEachMember(depth: 1) { (scanner, name) throws(Unsure) in try scanner.member(name, into: &data) }
        // Moved out: a copy retained and released each of its strings.
        return consume data
    }

    /// One member of `data` (depth 2), into its field, or skipped.
    private mutating func member(_ name: UnsafeBufferPointer<UInt8>, into data: inout JudgedData) throws(Unsure) {
        let depth = 2
        // The commonest names first: every contract event names its call or recording.
        if name.is("call_id") {
            data.callID = try text(depth: depth)
        } else if name.is("party_id") {
            data.partyID = try text(depth: depth)
        } else if name.is("recording_id") {
            data.recordingID = try text(depth: depth)
        } else if name.is("method") {
            data.method = try text(depth: depth)
        } else if name.is("parties") {
            data.parties = try parties(depth: depth)
        } else if name.is("scope") {
            data.scope = try texts(depth: depth)
        } else if name.is("actor") {
            data.actorRole = try nestedText("role", depth: depth)
        } else if name.is("anonymized") {
            data.anonymized = try flag(depth: depth) ?? false
        } else if name.is("purpose") {
            data.purpose = try text(depth: depth)
        } else if name.is("recipient") {
            data.recipientCountry = try nestedText("country", depth: depth)
        } else if name.is("legal_basis") {
            data.legalBasis = try text(depth: depth)
        } else if name.is("hold_id") {
            data.holdID = try text(depth: depth)
        } else if name.is("recording_ids") {
            data.recordingIDs = try texts(depth: depth) ?? []
        } else if name.is("request_id") {
            data.requestID = try text(depth: depth)
        } else if name.is("regime") {
            data.regime = try text(depth: depth)
        } else if name.is("subject") {
            data.subjectRef = try nestedText("subject_ref", depth: depth)
        } else {
            try skip(depth: depth)
        }
    }

    /// A string value, nil for a value of another kind (checked all the same).
    private mutating func text(depth: Int) throws(Unsure) -> String? {
        // The tree parser refuses any value this deep, scalars too.
        guard depth < JSONParser.maximumDepth else { throw Unsure() }
        guard try peek() == UInt8(ascii: "\"") else {
            try skip(depth: depth)
            return nil
        }
        // A plain string's bytes are its UTF-8 (the input is a Swift string's).
        return String(decoding: try plainString(asciiOnly: false), as: UTF8.self)
    }

    /// `true` or `false`; nil for a value of another kind.
    private mutating func flag(depth: Int) throws(Unsure) -> Bool? {
        guard depth < JSONParser.maximumDepth else { throw Unsure() }
        switch try peek() {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        default:
            try skip(depth: depth)
            return nil
        }
    }

    /// The string elements of an array; nil for a value of another kind.
    private mutating func texts(depth: Int) throws(Unsure) -> [String]? {
        guard try peek() == UInt8(ascii: "[") else {
            try skip(depth: depth)
            return nil
        }
        var texts: [String] = []
        try forEachElement(depth: depth) { (scanner) throws(Unsure) in
            if let text = try scanner.text(depth: depth + 1) { texts.append(text) }
        }
        return texts
    }

    /// The string member `name` of an object; nil when absent, of another kind, or not in an object.
    private mutating func nestedText(_ name: StaticString, depth: Int) throws(Unsure) -> String? {
        guard try peek() == UInt8(ascii: "{") else {
            try skip(depth: depth)
            return nil
        }
        var found: String?
        // Names come in byte order (`forEachMember` checks it), so none twice.
        try forEachMember(depth: depth) { (scanner, member) throws(Unsure) in
            if member.is(name) { found = try scanner.text(depth: depth + 1) } else { try scanner.skip(depth: depth + 1) }
        }
        return found
    }

    /// `parties`: one `Party` per element; nil for a value of another kind.
    private mutating func parties(depth: Int) throws(Unsure) -> [JudgedData.Party]? {
        guard try peek() == UInt8(ascii: "[") else {
            try skip(depth: depth)
            return nil
        }
        var parties: [JudgedData.Party] = []
        try forEachElement(depth: depth) { (scanner) throws(Unsure) in parties.append(try scanner.party(depth: depth + 1)) }
        return parties
    }

    private mutating func party(depth: Int) throws(Unsure) -> JudgedData.Party {
        var party = JudgedData.Party()
        guard try peek() == UInt8(ascii: "{") else {
            try skip(depth: depth)
            return party
        }
        try forEachMember(depth: depth) { (scanner, name) throws(Unsure) in
            let inner = depth + 1
            if name.is("party_id") {
                party.partyID = try scanner.text(depth: inner)
            } else if name.is("role") {
                party.role = try scanner.text(depth: inner)
            } else if name.is("jurisdiction") {
                party.jurisdiction = try scanner.text(depth: inner)
            } else if name.is("device") {
                party.device = try scanner.text(depth: inner)
            } else if name.is("subject") {
                party.subjectRef = try scanner.nestedText("subject_ref", depth: inner)
            } else {
                try scanner.skip(depth: inner)
            }
        }
        return party
    }
}
