@testable import CallAuditDomain

/// Good and bad sample events, each with the verdict the contract gives it.
enum ContractCorpus {
    struct Sample {
        var name: String
        var raw: String
        var valid: Bool
    }

    static let agent: JSONValue = ["party_id": "p1", "role": "agent", "jurisdiction": "US-TX", "subject": ["employee_id": "E1"]]
    static let customer: JSONValue = [
        "party_id": "p2", "role": "customer", "jurisdiction": "US-CA", "device": "cellular",
        "subject": ["phone": "+14155550100", "email": "a@example.com", "name": "Ada"],
    ]
    static let actor: JSONValue = ["id": "u1", "role": "manager"]

    /// A minimal valid `data` for every type.
    static func validData(_ type: EventType) -> JSONValue {
        switch type {
        case .callStarted: ["call_id": "c1", "direction": "inbound", "channel": "phone", "parties": [agent, customer]]
        case .callEnded: ["call_id": "c1"]
        case .recordingStarted, .recordingStopped: ["call_id": "c1", "recording_id": "r1"]
        case .recordingPaused, .recordingResumed: ["call_id": "c1", "recording_id": "r1", "reason": "pci"]
        case .recordingStored:
            ["call_id": "c1", "recording_id": "r1", "storage_uri": "s3://b/r1", "sha256": .string(String(repeating: "ab", count: 32)),
             "duration_seconds": 12.5, "bytes": 4096]
        case .noticePlayed: ["call_id": "c1", "method": "beep_tone"]
        case .consentGiven: ["call_id": "c1", "party_id": "p2", "method": "verbal", "scope": ["recording"]]
        case .consentRefused, .consentWithdrawn: ["call_id": "c1", "party_id": "p2"]
        case .recordingAccessed: ["recording_id": "r1", "actor": actor, "action": "play", "purpose": "quality_sample"]
        case .recordingShared:
            ["recording_id": "r1", "actor": actor, "recipient": ["organization": "QA Ltd", "country": "JP"], "legal_basis": "adequacy",
             "purpose": "quality_sample"]
        case .recordingDeleted: ["recording_id": "r1", "reason": "retention_expired", "method": "purge", "actor": actor]
        case .legalHoldPlaced: ["hold_id": "h1", "recording_ids": ["r1"], "case_ref": "LIT-1", "actor": actor]
        case .legalHoldReleased: ["hold_id": "h1", "actor": actor]
        case .subjectErasureRequested: ["request_id": "q1", "subject": ["email": "a@example.com"]]
        }
    }

    static func event(_ type: String, time: JSONValue = "2026-11-24T10:00:00Z", data: JSONValue?, extra: [(String, JSONValue)] = []) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("specversion", "1.0"), ("id", "e1"), ("source", "urn:test"), ("type", .string(type)), ("time", time),
        ]
        if let data { members.append(("data", data)) }
        members += extra.map { (key: $0.0, value: $0.1) }
        return .object(members)
    }

    static func with(_ base: JSONValue, _ key: String, _ value: JSONValue?) -> JSONValue {
        guard case .object(var members) = base else { return base }
        members.removeAll { $0.key == key }
        if let value { members.append((key: key, value: value)) }
        return .object(members)
    }

    static var samples: [Sample] {
        var samples: [Sample] = []
        func add(_ name: String, _ value: JSONValue, _ valid: Bool) { samples.append(Sample(name: name, raw: value.canonicalString, valid: valid)) }
        func addRaw(_ name: String, _ raw: String, _ valid: Bool) { samples.append(Sample(name: name, raw: raw, valid: valid)) }

        for type in EventType.allCases {
            let data = validData(type)
            add("\(type.rawValue) valid", event(type.rawValue, data: data), true)
            add("\(type.rawValue) missing data", event(type.rawValue, data: nil), false)
            add("\(type.rawValue) data not an object", event(type.rawValue, data: "x"), false)
            add("\(type.rawValue) extra data member kept", event(type.rawValue, data: with(data, "x_vendor", 1)), true)
            for field in EventContract.data(of: type).fields {
                add("\(type.rawValue) without \(field.name)", event(type.rawValue, data: with(data, field.name, nil)), !field.required)
                let numeric: Bool = switch field.shape { case .number, .integer: true; default: false }
                add("\(type.rawValue) \(field.name) as number", event(type.rawValue, data: with(data, field.name, 7)), numeric)
            }
        }
        let started = validData(.callStarted)
        let stored = validData(.recordingStored)
        let accessed = validData(.recordingAccessed)
        let valid = event("call.ended", data: validData(.callEnded))
        add("unknown type", event("call.transferred", data: ["call_id": "c1"]), false)
        add("specversion 0.3", with(valid, "specversion", "0.3"), false)
        add("specversion missing", with(valid, "specversion", nil), false)
        add("id empty", with(valid, "id", ""), false)
        add("source missing", with(valid, "source", nil), false)
        add("type not a string", with(valid, "type", 3), false)
        add("time missing", with(valid, "time", nil), false)
        add("time a number", with(valid, "time", 1_700_000_000), false)
        for (label, time, ok) in [
            ("leap day", "2028-02-29T00:00:00Z", true), ("no leap day", "2026-02-29T00:00:00Z", false),
            ("lowercase t and z", "2026-11-24t10:00:00z", true), ("offset", "2026-11-24T10:00:00+05:30", true),
            ("fraction", "2026-11-24T10:00:00.123456789Z", true), ("no zone", "2026-11-24T10:00:00", false),
            ("hour 24", "2026-11-24T24:00:00Z", false), ("leap second", "2026-12-31T23:59:60Z", false),
            ("space separator", "2026-11-24 10:00:00Z", false), ("date only", "2026-11-24", false), ("words", "yesterday", false),
            ("year zero", "0000-01-01T00:00:00Z", false), ("day 31 in November", "2026-11-31T00:00:00Z", false),
        ] {
            add("time \(label)", with(valid, "time", .string(time)), ok)
        }
        add("extension attribute kept", with(valid, "tenantid", "acme"), true)
        add("subject attribute", with(valid, "subject", "call/c1"), true)
        add("dataschema not a string", with(valid, "dataschema", 1), false)
        add("datacontenttype string", with(valid, "datacontenttype", "application/json"), true)
        add("event is an array", [valid], false)
        addRaw("not JSON", #"{"specversion":"1.0","#, false)
        addRaw("duplicate member", #"{"specversion":"1.0","id":"a","id":"b","source":"s","type":"call.ended","time":"2026-11-24T10:00:00Z","data":{"call_id":"c"}}"#, false)
        addRaw("NaN literal", #"{"specversion":"1.0","id":"a","source":"s","type":"recording.stored","time":"2026-11-24T10:00:00Z","data":{"duration_seconds":NaN}}"#, false)

        let parties = started["parties"]!.arrayValue!
        func call(withCustomer c: JSONValue) -> JSONValue { event("call.started", data: with(started, "parties", [parties[0], c])) }
        add("call.started no parties", event("call.started", data: with(started, "parties", [])), false)
        add("call.started direction sideways", event("call.started", data: with(started, "direction", "sideways")), false)
        add("party without jurisdiction", call(withCustomer: with(customer, "jurisdiction", nil)), true)
        add("party jurisdiction DE", call(withCustomer: with(customer, "jurisdiction", "DE")), true)
        add("party jurisdiction unknown but well-formed", call(withCustomer: with(customer, "jurisdiction", "XK")), true)
        add("party jurisdiction lowercase", call(withCustomer: with(customer, "jurisdiction", "us-ca")), false)
        add("party jurisdiction too long", call(withCustomer: with(customer, "jurisdiction", "US-CALI")), false)
        add("party device satellite", call(withCustomer: with(customer, "device", "satellite")), false)
        add("party role boss", call(withCustomer: with(customer, "role", "boss")), false)
        add("subject with no identifiers", call(withCustomer: with(customer, "subject", [:])), false)
        add("subject only unknown members", call(withCustomer: with(customer, "subject", ["nickname": "x"])), false)
        add("subject customer_id only", call(withCustomer: with(customer, "subject", ["customer_id": "C1"])), true)
        add("phone not E.164", call(withCustomer: with(customer, "subject", ["phone": "0415 555 0100"])), false)
        add("phone too long", call(withCustomer: with(customer, "subject", ["phone": "+1234567890123456"])), false)
        add("phone leading zero", call(withCustomer: with(customer, "subject", ["phone": "+0415555"])), false)
        add("email without at", call(withCustomer: with(customer, "subject", ["email": "nobody"])), false)
        add("name empty", call(withCustomer: with(customer, "subject", ["name": ""])), false)
        add("sha256 uppercase", event("recording.stored", data: with(stored, "sha256", .string(String(repeating: "AB", count: 32)))), false)
        add("sha256 short", event("recording.stored", data: with(stored, "sha256", "abcd")), false)
        add("bytes fractional", event("recording.stored", data: with(stored, "bytes", 1.5)), false)
        add("bytes 2.0 is an integer", event("recording.stored", data: with(stored, "bytes", 2.0)), true)
        add("bytes negative", event("recording.stored", data: with(stored, "bytes", -1)), false)
        add("duration negative", event("recording.stored", data: with(stored, "duration_seconds", -0.5)), false)
        add("duration zero", event("recording.stored", data: with(stored, "duration_seconds", 0)), true)
        add("purpose unknown is judged later", event("recording.accessed", data: with(accessed, "purpose", "curiosity")), true)
        add("purpose other", event("recording.accessed", data: with(accessed, "purpose", "other")), true)
        add("actor role outside the allowed list", event("recording.accessed", data: with(accessed, "actor", ["id": "u", "role": "intern"])), true)
        add("actor without id", event("recording.accessed", data: with(accessed, "actor", ["role": "manager"])), false)
        add("anonymized as string", event("recording.accessed", data: with(accessed, "anonymized", "yes")), false)
        add("anonymized true", event("recording.accessed", data: with(accessed, "anonymized", true)), true)
        add("action delete", event("recording.accessed", data: with(accessed, "action", "delete")), false)
        add("notice for every party (null)", event("notice.played", data: ["call_id": "c1", "party_id": nil, "method": "announcement"]), true)
        add("notice party empty", event("notice.played", data: ["call_id": "c1", "party_id": "", "method": "announcement"]), false)
        add("consent scope empty", event("consent.given", data: ["call_id": "c1", "party_id": "p", "method": "verbal", "scope": []]), false)
        add("consent scope unknown", event("consent.given", data: ["call_id": "c1", "party_id": "p", "method": "verbal", "scope": ["marketing"]]), false)
        add("consent implied", event("consent.given", data: ["call_id": "c1", "party_id": "p", "method": "implied_by_continuing", "scope": ["recording", "training"]]), true)
        add("share legal basis missing", event("recording.shared", data: with(validData(.recordingShared), "legal_basis", nil)), true)
        add("share legal basis null", event("recording.shared", data: with(validData(.recordingShared), "legal_basis", nil as JSONValue)), false)
        add("share recipient country lowercase", event("recording.shared", data: with(validData(.recordingShared), "recipient", ["organization": "x", "country": "jp"])), false)
        add("hold with no recordings", event("legal_hold.placed", data: with(validData(.legalHoldPlaced), "recording_ids", [])), false)
        add("hold recording id empty", event("legal_hold.placed", data: with(validData(.legalHoldPlaced), "recording_ids", [""])), false)
        add("erasure regime ccpa", event("subject.erasure_requested", data: with(validData(.subjectErasureRequested), "regime", "ccpa")), true)
        add("erasure regime lgpd", event("subject.erasure_requested", data: with(validData(.subjectErasureRequested), "regime", "lgpd")), false)
        // Bounded lengths, counted in code points as JSON Schema counts them.
        let longest = String(repeating: "c", count: Shape.identifierMaxLength)
        add("call id at the limit", event("call.ended", data: ["call_id": .string(longest)]), true)
        add("call id over the limit", event("call.ended", data: ["call_id": .string(longest + "c")]), false)
        add("call id of 200,000 characters", event("call.ended", data: ["call_id": .string(String(repeating: "c", count: 200_000))]), false)
        add("call id at the limit in multi-byte characters", event("call.ended", data: ["call_id": .string(String(repeating: "é", count: Shape.identifierMaxLength))]), true)
        add("actor id over the limit", event("recording.accessed", data: with(validData(.recordingAccessed), "actor", ["id": .string(longest + "u"), "role": "manager"])), false)
        let uri = "s3://b/" + String(repeating: "k", count: Shape.textMaxLength - 7)
        add("storage uri at the text limit", event("recording.stored", data: with(validData(.recordingStored), "storage_uri", .string(uri))), true)
        add("storage uri over the text limit", event("recording.stored", data: with(validData(.recordingStored), "storage_uri", .string(uri + "k"))), false)
        add("purpose over the text limit", event("recording.accessed", data: with(validData(.recordingAccessed), "purpose", .string(String(repeating: "p", count: Shape.textMaxLength + 1)))), false)
        add("event id over the limit", with(event("call.ended", data: ["call_id": "c1"]), "id", .string(longest + "e")), false)
        // The vault's own members: a producer cannot pass plaintext off as sealed, or name a pseudonym.
        let subject = customer["subject"]!
        add("subject with sealed: null", call(withCustomer: with(customer, "subject", with(subject, "sealed", nil as JSONValue))), false)
        add("subject with a subject_ref", call(withCustomer: with(customer, "subject", with(subject, "subject_ref", "sub_0123"))), false)
        add("subject with an unknown member", call(withCustomer: with(customer, "subject", with(subject, "nickname", "A"))), true)
        let erasure = validData(.subjectErasureRequested)
        add("erasure naming subject_refs", event("subject.erasure_requested", data: with(erasure, "subject_refs", ["sub_0123"])), false)
        add("erasure subject with sealed", event("subject.erasure_requested", data: with(erasure, "subject", ["email": "a@example.com", "sealed": "x"])), false)
        add("erasure with the DPO's own id prefix", event("subject.erasure_requested", data: with(erasure, "request_id", "dsr-1234")), false)
        add("erasure id merely containing dsr-", event("subject.erasure_requested", data: with(erasure, "request_id", "x-dsr-1")), true)
        // Prefixes are bytes: a combining mark after them joins their last character into another one,
        // and `hasPrefix`, which compares characters, missed them.
        add("erasure with the DPO's prefix, then a combining mark", event("subject.erasure_requested", data: with(erasure, "request_id", "dsr-\u{301}1")), false)
        return samples
    }
}
