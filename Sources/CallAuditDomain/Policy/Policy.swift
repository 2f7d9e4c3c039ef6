import Crypto

/// How a jurisdiction lets a call be recorded, from least to most demanding (docs/product.md §2).
package enum ConsentRegime: String, Sendable, CaseIterable, Comparable {
    /// The organisation's own consent suffices.
    case oneParty = "one_party"
    /// Every external party notified, or consenting, by recording start + grace.
    case allPartyNotice = "all_party_notice"
    /// As above, and a notice counts only if it was itself recorded.
    case allPartyNoticeRecorded = "all_party_notice_recorded"
    /// Every external party gave explicit consent (not implied by continuing).
    case allPartyConsent = "all_party_consent"

    /// Declaration order, weakest first. A switch, not `allCases.firstIndex`:
    /// judging compares regimes for every party of every call, and each
    /// `allCases` made an array.
    package static func < (a: ConsentRegime, b: ConsentRegime) -> Bool { a.strictness < b.strictness }

    private var strictness: Int {
        switch self {
        case .oneParty: 0
        case .allPartyNotice: 1
        case .allPartyNoticeRecorded: 2
        case .allPartyConsent: 3
        }
    }
}

/// A jurisdiction's rule and the law it rests on.
package struct JurisdictionRule: Sendable, Equatable {
    package var regime: ConsentRegime
    package var citation: String
    /// Cited instead when a party's device is cellular or cordless (California §632.7).
    package var mobileCitation: String?
}

/// A subject-request deadline: calendar months or days, extendable once.
package struct RequestDeadline: Sendable, Equatable {
    package enum Span: Sendable, Equatable {
        case months(Int)
        case days(Int)
    }

    package var deadline: Span
    package var extension_: Span
    package var citation: String
}

/// The operator's compliance policy: every legal rule CallAudit applies lives here.
package struct Policy: Sendable {
    package var version: String
    /// SHA-256 of the policy's RFC 8785 canonical JSON, hex: stamped on every finding.
    package var hash: String
    package var retentionDays: Int
    package var noticeGraceSeconds: Int
    package var allowedAccessRoles: Set<String>
    package var allowedPurposes: Set<String>
    package var subjectRequests: [String: RequestDeadline]
    package var eeaCountries: Set<String>
    package var adequateCountries: Set<String>
    package var fallback: JurisdictionRule
    package var jurisdictions: [String: JurisdictionRule]

    /// The policy shipped with CallAudit (`schemas/policy/default-policy.json`).
    package static let `default`: Policy = try! Policy(json: PackageResources.default_policy_json)

    /// What `jurisdiction.split(separator: "-").first` gives (the first piece
    /// that is not empty), without the array of every piece. By bytes only for
    /// ASCII: elsewhere a combining mark after "-" makes one `Character` that is not "-".
    static func country(of jurisdiction: String) -> String? {
        let utf8 = jurisdiction.utf8
        guard utf8.allSatisfy({ $0 < 0x80 }) else { return jurisdiction.split(separator: "-").first.map(String.init) }
        guard let start = utf8.firstIndex(where: { $0 != UInt8(ascii: "-") }) else { return nil }
        let end = utf8[start...].firstIndex(of: UInt8(ascii: "-")) ?? utf8.endIndex
        return String(jurisdiction[start..<end])
    }

    /// The rule for a party's jurisdiction: the subdivision's own entry, else its
    /// country's, else the fallback for a missing or unknown jurisdiction.
    package func rule(for jurisdiction: String?) -> JurisdictionRule {
        guard let jurisdiction else { return fallback }
        if let exact = jurisdictions[jurisdiction] { return exact }
        if let country = Self.country(of: jurisdiction), let rule = jurisdictions[country] { return rule }
        return fallback
    }
}

/// Why a policy file was refused: the JSON path and what to fix.
package struct PolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    package var path: String
    package var problem: String

    package var description: String { "policy \(path): \(problem)" }
}

extension Policy {
    /// Parses and validates a policy file.
    package init(json bytes: [UInt8]) throws(PolicyError) {
        let document: JSONValue
        do { document = try JSONParser.parse(bytes) } catch {
            throw PolicyError(path: "$", problem: "not valid JSON (\(error))")
        }
        var reader = PolicyReader(document: document)
        version = try reader.string("policy_version")
        retentionDays = try reader.integer("retention_days", atLeast: 1)
        noticeGraceSeconds = try reader.integer("notice_grace_seconds", atLeast: 0)
        allowedAccessRoles = Set(try reader.strings("allowed_access_roles"))
        allowedPurposes = Set(try reader.strings("allowed_purposes"))
        eeaCountries = Set(try reader.strings("eea_countries", pattern: .country))
        adequateCountries = Set(try reader.strings("adequate_countries", pattern: .country))
        subjectRequests = try reader.subjectRequests()
        fallback = try reader.rule(at: "fallback")
        jurisdictions = try reader.jurisdictions()
        try reader.rejectUnknownMembers()
        hash = Array(SHA256.hash(data: document.canonicalBytes)).hexString
    }
}

/// Reads the policy document member by member, naming the path of whatever is wrong.
private struct PolicyReader {
    let document: JSONValue
    var seen: Set<String> = ["description"]

    init(document: JSONValue) { self.document = document }

    mutating func member(_ key: String) throws(PolicyError) -> JSONValue {
        guard document.objectValue != nil else { throw PolicyError(path: "$", problem: "must be a JSON object") }
        seen.insert(key)
        guard let value = document[key] else { throw PolicyError(path: "$.\(key)", problem: "is required") }
        return value
    }

    mutating func string(_ key: String) throws(PolicyError) -> String {
        guard let s = try member(key).stringValue, !s.isEmpty else { throw PolicyError(path: "$.\(key)", problem: "must be a non-empty string") }
        return s
    }

    mutating func integer(_ key: String, atLeast minimum: Int) throws(PolicyError) -> Int {
        guard let n = try member(key).numberValue, n.rounded() == n, n >= Double(minimum), n < 1e9 else {
            throw PolicyError(path: "$.\(key)", problem: "must be a whole number of at least \(minimum)")
        }
        return Int(n)
    }

    mutating func strings(_ key: String, pattern: StringPattern? = nil) throws(PolicyError) -> [String] {
        guard let items = try member(key).arrayValue else { throw PolicyError(path: "$.\(key)", problem: "must be an array of strings") }
        return try items.enumerated().map { (index, item) throws(PolicyError) -> String in
            guard let s = item.stringValue, !s.isEmpty, pattern?.matches(s) ?? true else {
                throw PolicyError(path: "$.\(key)[\(index)]", problem: pattern.map { "must be \($0.summary)" } ?? "must be a non-empty string")
            }
            return s
        }
    }

    mutating func rule(at key: String) throws(PolicyError) -> JurisdictionRule {
        try Self.rule(try member(key), path: "$.\(key)")
    }

    static func rule(_ value: JSONValue, path: String) throws(PolicyError) -> JurisdictionRule {
        guard let regimeName = value["regime"]?.stringValue, let regime = ConsentRegime(rawValue: regimeName) else {
            throw PolicyError(path: "\(path).regime", problem: "must be one of \(ConsentRegime.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let citation = value["citation"]?.stringValue, !citation.isEmpty else {
            throw PolicyError(path: "\(path).citation", problem: "every rule needs the law or policy line it rests on")
        }
        if let mobile = value["mobile_citation"], mobile.stringValue?.isEmpty != false {
            throw PolicyError(path: "\(path).mobile_citation", problem: "must be a non-empty string when present")
        }
        return JurisdictionRule(regime: regime, citation: citation, mobileCitation: value["mobile_citation"]?.stringValue)
    }

    mutating func jurisdictions() throws(PolicyError) -> [String: JurisdictionRule] {
        guard let members = try member("jurisdictions").objectValue, !members.isEmpty else {
            throw PolicyError(path: "$.jurisdictions", problem: "must be an object with at least one jurisdiction")
        }
        var rules: [String: JurisdictionRule] = [:]
        for (code, value) in members {
            guard StringPattern.jurisdiction.matches(code) else {
                throw PolicyError(path: "$.jurisdictions.\(code)", problem: "key must be \(StringPattern.jurisdiction.summary)")
            }
            rules[code] = try Self.rule(value, path: "$.jurisdictions.\(code)")
        }
        return rules
    }

    mutating func subjectRequests() throws(PolicyError) -> [String: RequestDeadline] {
        guard let members = try member("subject_requests").objectValue else {
            throw PolicyError(path: "$.subject_requests", problem: "must be an object keyed by regime (gdpr, ccpa)")
        }
        var result: [String: RequestDeadline] = [:]
        for regime in ["gdpr", "ccpa"] {
            let path = "$.subject_requests.\(regime)"
            guard let entry = members.first(where: { $0.key == regime })?.value else { throw PolicyError(path: path, problem: "is required") }
            guard let citation = entry["citation"]?.stringValue, !citation.isEmpty else {
                throw PolicyError(path: "\(path).citation", problem: "is required")
            }
            result[regime] = RequestDeadline(
                deadline: try Self.span(entry["deadline"], path: "\(path).deadline"),
                extension_: try Self.span(entry["extension"], path: "\(path).extension"), citation: citation)
        }
        return result
    }

    static func span(_ value: JSONValue?, path: String) throws(PolicyError) -> RequestDeadline.Span {
        if let months = value?["months"]?.numberValue, months >= 1, months.rounded() == months, value?.objectValue?.count == 1 {
            return .months(Int(months))
        }
        if let days = value?["days"]?.numberValue, days >= 1, days.rounded() == days, value?.objectValue?.count == 1 {
            return .days(Int(days))
        }
        throw PolicyError(path: path, problem: #"must be {"months": N} or {"days": N} with N at least 1"#)
    }

    func rejectUnknownMembers() throws(PolicyError) {
        for member in document.objectValue ?? [] where !seen.contains(member.key) {
            throw PolicyError(path: "$.\(member.key)", problem: "is not a policy setting (misspelt?)")
        }
    }
}
