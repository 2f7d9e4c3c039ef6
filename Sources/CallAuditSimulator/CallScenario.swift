import CallAuditDomain

/// One call and everything that happens to it and its recording.
struct CallScenario {
    enum Violation: CaseIterable {
        case noNotice, lateNotice, impliedConsentInGermany, recordedAfterRefusal, unauthorizedRole, invalidPurpose,
            trainingNotAnonymized, accessAfterDeletion, transferWithoutBasis, deletedUnderHold
    }

    static let customerJurisdictions: [String?] = [
        "US-TX", "US-NY", "US-GA", "US-CA", "US-CA", "US-WA", "US-FL", "US-IL", "US-PA", "US-MA", "US-OR", "US-VT",
        "DE", "DE", "FR", "GB", "GB", "IE", "NL", "ES", "IT", "CA", "AU", "XK", nil,
    ]
    static let agentJurisdictions = ["US-TX", "US-CA", "DE", "GB", "US-NY", "FR", "US-WA"]
    static let sources = ["urn:pbx:eu-central-1", "urn:pbx:us-east-1", "urn:pbx:us-west-2"]
    static let allowedRoles = ["manager", "compliance_officer", "dpo", "legal"]
    static let allowedPurposes = ["complaint_investigation", "quality_sample", "health_safety_crime", "legal_compliance", "training_coaching"]

    let index: Int
    let start: Timestamp
    var rng: SeededRandom
    let configuration: SimulationConfiguration
    private var output: [SimulatedMessage] = []
    private let source: String
    private let callID: String

    init(index: Int, start: Timestamp, rng: SeededRandom, configuration: SimulationConfiguration) {
        self.index = index
        self.start = start
        self.rng = rng
        self.configuration = configuration
        self.source = Self.sources[index % Self.sources.count]
        self.callID = "call-\(configuration.seed)-\(index)"
    }

    mutating func messages() -> [SimulatedMessage] {
        let violation: Violation? = rng.chance(configuration.violationRate) ? rng.pick(Violation.allCases) : nil
        let parties = makeParties(germanCustomer: violation == .impliedConsentInGermany)
        emit(.callStarted, at: 0, [
            "call_id": .string(callID),
            "direction": .string(rng.pick(["inbound", "inbound", "inbound", "outbound", "internal"])),
            "channel": .string(rng.pick(["phone", "phone", "phone", "phone", "video", "chat"])),
            "parties": .array(parties.map(\.json)),
        ])
        let duration = Int64.random(in: 60...1_200, using: &rng)
        let recorded = rng.chance(0.9) || violation != nil
        if recorded {
            recordCall(parties: parties, duration: duration, violation: violation)
        } else {
            emit(.noticePlayed, at: 1, ["call_id": .string(callID), "party_id": nil, "method": "announcement"])
        }
        emit(.callEnded, at: duration, ["call_id": .string(callID)])
        if rng.chance(configuration.malformedRate) { output.append(malformed()) }
        return output
    }

    private mutating func recordCall(parties: [Party], duration: Int64, violation: Violation?) {
        let recordingID = "rec-\(configuration.seed)-\(index)"
        let ids: [String: JSONValue] = ["call_id": .string(callID), "recording_id": .string(recordingID)]
        emit(.recordingStarted, at: 2, ids)
        switch violation {
        case .noNotice: break
        case .lateNotice: emit(.noticePlayed, at: 2 + 11, ["call_id": .string(callID), "method": "agent_verbal"])
        default: emit(.noticePlayed, at: 3, ["call_id": .string(callID), "party_id": nil, "method": .string(rng.pick(["announcement", "beep_tone"]))])
        }
        // Where any party is in Germany, the platform asks every external party for explicit consent.
        let explicitConsent = parties.contains { $0.jurisdiction == "DE" }
        for party in parties where party.role != "agent" && explicitConsent {
            let method: JSONValue = violation == .impliedConsentInGermany ? "implied_by_continuing" : .string(rng.pick(["verbal", "dtmf"]))
            let scope: JSONValue = rng.chance(0.5) ? ["recording", "training"] : ["recording"]
            emit(.consentGiven, at: 4, ["call_id": .string(callID), "party_id": .string(party.id), "method": method, "scope": scope])
        }
        var stoppedAt = duration
        if violation == .recordedAfterRefusal || rng.chance(0.02) {
            let customer = parties.first { $0.role == "customer" }!
            emit(.consentRefused, at: 20, ["call_id": .string(callID), "party_id": .string(customer.id)])
            if violation != .recordedAfterRefusal { stoppedAt = 21 }
        } else if rng.chance(0.1), duration > 120 {
            emit(.recordingPaused, at: 60, ids.merging(["reason": "pci"]) { a, _ in a })
            emit(.recordingResumed, at: 100, ids.merging(["reason": "pci"]) { a, _ in a })
        }
        emit(.recordingStopped, at: stoppedAt, ids)
        emit(.recordingStored, at: duration + 5, ids.merging([
            "storage_uri": .string("s3://recordings/\(recordingID).opus"), "sha256": .string(rng.hex(64)),
            "duration_seconds": .number(Double(stoppedAt - 2)), "bytes": .number(Double((stoppedAt - 2) * 4_000)),
        ]) { a, _ in a })
        afterCall(recordingID: recordingID, customer: parties.first { $0.role == "customer" }!, end: duration, violation: violation)
    }

    private mutating func afterCall(recordingID: String, customer: Party, end: Int64, violation: Violation?) {
        let rid = JSONValue.string(recordingID)
        if violation == .unauthorizedRole || violation == .invalidPurpose || violation == .trainingNotAnonymized || rng.chance(0.15) {
            let role = violation == .unauthorizedRole ? rng.pick(["agent", "contractor"]) : rng.pick(Self.allowedRoles)
            var access: [String: JSONValue] = [
                // Staff come from a bounded pool, as in a real contact centre: the same people access many recordings.
                "recording_id": rid, "actor": ["id": .string("\(role)-\(Int.random(in: 0..<250, using: &rng))"), "role": .string(role)],
                "action": .string(rng.pick(["play", "play", "download", "transcript_view"])),
            ]
            switch violation {
            case .invalidPurpose: if rng.chance(0.5) { access["purpose"] = "other" }
            case .trainingNotAnonymized: access["purpose"] = "training_coaching"; access["anonymized"] = false
            default:
                let purpose = rng.pick(Self.allowedPurposes)
                access["purpose"] = .string(purpose)
                if purpose == "training_coaching" { access["anonymized"] = true }
                if purpose == "complaint_investigation" { access["purpose_ref"] = .string("CASE-\(rng.hex(5))") }
            }
            // Before any routine deletion (end + 900 s), so only the planted violation accesses a deleted recording.
            emit(.recordingAccessed, at: end + Int64.random(in: 60...840, using: &rng), access)
        }
        if violation == .transferWithoutBasis || rng.chance(0.03) {
            // An empty basis stands for a share that names none at all.
            let (country, basis) =
                violation == .transferWithoutBasis
                ? rng.pick([("IN", "adequacy"), ("BR", "none"), ("US", "")])
                : rng.pick([("US", "scc"), ("JP", "adequacy"), ("GB", "adequacy"), ("IN", "bcr")])
            var share: [String: JSONValue] = [
                "recording_id": rid, "actor": ["id": "emp-legal", "role": "legal"],
                "recipient": ["organization": "Outsourced QA Ltd", "country": .string(country)], "purpose": "quality_sample",
            ]
            if !basis.isEmpty { share["legal_basis"] = .string(basis) }
            emit(.recordingShared, at: end + 3_600, share)
        }
        if violation == .deletedUnderHold || rng.chance(0.005) {
            let holdID = "hold-\(configuration.seed)-\(index)"
            emit(.legalHoldPlaced, at: end + 1_800, ["hold_id": .string(holdID), "recording_ids": [rid], "case_ref": "LIT-2026-17", "actor": ["id": "emp-legal", "role": "legal"]])
            if violation == .deletedUnderHold {
                emit(.recordingDeleted, at: end + 2_400, deletion(rid, reason: "manual"))
            }
            emit(.legalHoldReleased, at: end + 14_400, ["hold_id": .string(holdID), "actor": ["id": "emp-legal", "role": "legal"]])
        } else if violation == .accessAfterDeletion || rng.chance(0.03) {
            emit(.recordingDeleted, at: end + 900, deletion(rid, reason: rng.pick(["issue_resolved", "manual"])))
            if violation == .accessAfterDeletion {
                emit(.recordingAccessed, at: end + 1_200, ["recording_id": rid, "actor": ["id": "emp-qa", "role": "manager"], "action": "play", "purpose": "quality_sample"])
            }
        }
        if rng.chance(0.003) {
            emit(.subjectErasureRequested, at: end + 7_200, [
                "request_id": .string("pr-\(configuration.seed)-\(index)"), "subject": ["phone": .string(customer.phone)],
                "regime": .string(customer.jurisdiction?.hasPrefix("US") == true ? "ccpa" : "gdpr"),
            ])
        }
    }

    private mutating func deletion(_ recordingID: JSONValue, reason: String) -> [String: JSONValue] {
        ["recording_id": recordingID, "reason": .string(reason), "method": .string(rng.pick(["purge", "destroy"])), "actor": ["id": "svc-retention", "role": "system"]]
    }

    struct Party {
        var id: String
        var role: String
        var jurisdiction: String?
        var device: String
        var phone: String
        var json: JSONValue
    }

    private mutating func makeParties(germanCustomer: Bool) -> [Party] {
        var parties = [makeParty(role: "agent", jurisdiction: rng.pick(Self.agentJurisdictions), n: 1)]
        parties.append(makeParty(role: "customer", jurisdiction: germanCustomer ? "DE" : rng.pick(Self.customerJurisdictions), n: 2))
        if rng.chance(0.05) { parties.append(makeParty(role: "third_party", jurisdiction: rng.pick(Self.customerJurisdictions), n: 3)) }
        return parties
    }

    private mutating func makeParty(role: String, jurisdiction: String?, n: Int) -> Party {
        let id = "\(callID)-p\(n)"
        let device = role == "agent" ? "voip" : rng.pick(["landline", "cellular", "cellular", "cordless", "voip"])
        let phone = "+1\(Int.random(in: 2_000_000_000...9_999_999_999, using: &rng))"
        var subject: [(key: String, value: JSONValue)] = []
        if role == "agent" {
            subject = [("employee_id", .string("E\(Int.random(in: 1_000...9_999, using: &rng))")), ("name", .string("Agent \(rng.hex(4))"))]
        } else {
            subject.append(("phone", .string(phone)))
            if rng.chance(0.5) { subject.append(("email", .string("person.\(rng.hex(8))@example.com"))) }
            if rng.chance(0.4) { subject.append(("customer_id", .string("C-\(rng.hex(8))"))) }
            if rng.chance(0.3) { subject.append(("name", .string("Customer \(rng.hex(6))"))) }
            if role == "customer", let regular = RepeatCaller.calling(callID) { subject = regular.subject(call: callID) }
        }
        var members: [(key: String, value: JSONValue)] = [
            ("party_id", .string(id)), ("role", .string(role)), ("device", .string(device)), ("subject", .object(subject)),
        ]
        if let jurisdiction { members.append(("jurisdiction", .string(jurisdiction))) }
        return Party(id: id, role: role, jurisdiction: jurisdiction, device: device, phone: phone, json: .object(members))
    }

    private mutating func emit(_ type: EventType, at secondsAfterStart: Int64, _ data: [String: JSONValue]) {
        let time = start.adding(seconds: secondsAfterStart)
        let document: JSONValue = .object([
            ("specversion", "1.0"), ("id", .string(rng.hex(32))), ("source", .string(source)),
            ("type", .string(type.rawValue)), ("time", .string(time.rfc3339)), ("datacontenttype", "application/json"),
            ("data", .object(data.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) })),
        ])
        let key = data["call_id"]?.stringValue ?? data["recording_id"]?.stringValue ?? data["hold_id"]?.stringValue ?? callID
        output.append(.event(document, topic: type.topic, key: key, time: time, binary: rng.chance(configuration.binaryModeRate)))
    }

    /// One message the ingest must dead-letter, of a kind chosen in rotation.
    private mutating func malformed() -> SimulatedMessage {
        let reason = RejectionReason.allCases.filter { $0 != .storeRejected }[index % 6]
        let time = start.adding(seconds: 30)
        func message(_ text: String, topic: Topic = .calls) -> SimulatedMessage {
            SimulatedMessage(topic: topic, key: callID, headers: [], value: Array(text.utf8), time: time, expectedRejection: reason)
        }
        let id = rng.hex(32)
        let envelope = #""specversion":"1.0","id":"\#(id)","source":"urn:pbx:faulty","datacontenttype":"application/json""#
        switch reason {
        case .notJSON: return message(#"{"specversion":"1.0","id":"\#(id)","type":"call.started","#)
        case .notCloudEvent: return message(#"{"id":"\#(id)","call_id":"\#(callID)","event":"call.started"}"#)
        case .unknownType: return message(#"{\#(envelope),"type":"call.transferred","time":"\#(time.rfc3339)","data":{"call_id":"\#(callID)"}}"#)
        case .schemaViolation: return message(#"{\#(envelope),"type":"call.started","time":"\#(time.rfc3339)","data":{"call_id":"\#(callID)","direction":"sideways"}}"#)
        case .badTime: return message(#"{\#(envelope),"type":"call.ended","time":"yesterday at noon","data":{"call_id":"\#(callID)"}}"#, topic: .calls)
        case .oversize, .storeRejected:
            let padding = String(repeating: "x", count: configuration.oversizeBytes)
            return message(#"{\#(envelope),"type":"call.ended","time":"\#(time.rfc3339)","data":{"call_id":"\#(callID)","padding":"\#(padding)"}}"#)
        }
    }
}
