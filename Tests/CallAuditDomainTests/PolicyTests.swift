import Testing

@testable import CallAuditDomain

@Suite("Compliance policy")
struct PolicyTests {
    let policy = Policy.default

    @Test("the default policy carries docs/product.md §2: retention, grace, roles, purposes")
    func defaults() {
        #expect(policy.retentionDays == 30)
        #expect(policy.noticeGraceSeconds == 10)
        #expect(policy.allowedAccessRoles == ["manager", "compliance_officer", "dpo", "legal"])
        #expect(!policy.allowedPurposes.contains("other") && policy.allowedPurposes.count == 5)
        #expect(policy.subjectRequests["gdpr"]?.deadline == .months(1) && policy.subjectRequests["gdpr"]?.extension_ == .months(2))
        #expect(policy.subjectRequests["ccpa"]?.deadline == .days(45) && policy.subjectRequests["ccpa"]?.extension_ == .days(45))
        #expect(policy.hash.count == 64)
    }

    @Test(
        "each jurisdiction resolves to its regime, falling back from subdivision to country to the strict default",
        arguments: [
            ("US-TX", ConsentRegime.oneParty), ("US", .oneParty), ("US-OR", .oneParty), ("US-VT", .oneParty),
            ("US-CA", .allPartyNotice), ("US-FL", .allPartyNotice), ("US-PA", .allPartyNotice), ("GB", .allPartyNotice),
            ("FR", .allPartyNotice), ("IE", .allPartyNotice), ("NO", .allPartyNotice), ("CA", .allPartyNotice), ("AU", .allPartyNotice),
            ("US-WA", .allPartyNoticeRecorded), ("DE", .allPartyConsent), ("DE-BY", .allPartyConsent), ("XK", .allPartyNotice),
        ])
    func regimes(_ jurisdiction: String, _ regime: ConsentRegime) {
        #expect(policy.rule(for: jurisdiction).regime == regime)
        #expect(!policy.rule(for: jurisdiction).citation.isEmpty)
    }

    @Test("a missing jurisdiction falls back to all-party notice; California cites §632.7 for mobile parties")
    func fallbackAndMobile() {
        #expect(policy.rule(for: nil) == policy.fallback)
        #expect(policy.fallback.regime == .allPartyNotice)
        #expect(policy.rule(for: "US-CA").mobileCitation == "Cal. Penal Code §632.7")
        #expect(policy.rule(for: "DE").citation == "StGB §201")
        #expect(policy.rule(for: "US-WA").citation == "RCW 9.73.030")
    }

    @Test("regimes order from least to most demanding")
    func strictness() {
        #expect(ConsentRegime.oneParty < .allPartyNotice)
        #expect(ConsentRegime.allPartyNotice < .allPartyNoticeRecorded)
        #expect(ConsentRegime.allPartyNoticeRecorded < .allPartyConsent)
        #expect([ConsentRegime.allPartyNotice, .oneParty, .allPartyConsent].max() == .allPartyConsent)
    }

    @Test("the order of regimes is their declaration order, for every pair")
    func strictnessIsDeclarationOrder() {
        for (i, a) in ConsentRegime.allCases.enumerated() {
            for (j, b) in ConsentRegime.allCases.enumerated() { #expect((a < b) == (i < j), "\(a) < \(b)") }
        }
    }

    @Test("a call is governed by its strictest party's rule; between equals, by the first such party's jurisdiction")
    func governingRule() throws {
        var call = CallFacts(callID: "c")
        #expect(call.governingRule(.default) == nil)
        call.parties = [.init(id: "a", role: "agent", jurisdiction: "US"), .init(id: "b", role: "customer", jurisdiction: "FR"),
                        .init(id: "c", role: "customer", jurisdiction: "AT"), .init(id: "d", role: "customer", jurisdiction: nil)]
        #expect(try #require(call.governingRule(.default)).jurisdiction == "FR")
        call.parties.append(.init(id: "e", role: "customer", jurisdiction: "DE"))
        #expect(try #require(call.governingRule(.default)).jurisdiction == "DE")
        #expect(try #require(call.governingRule(.default)).rule.regime == .allPartyConsent)
    }

    @Test("a subdivision's country is what splitting at \"-\" gives, for odd and non-ASCII names too")
    func countryOfSubdivision() {
        let names = ["", "-", "--", "DE", "US-CA", "-US", "--US-CA", "US--CA", "US-", "a-b-c", "é-x", "x-\u{301}y", "-\u{301}", "日本-13", "US-CA\u{0}"]
        for name in names { #expect(Policy.country(of: name) == name.split(separator: "-").first.map(String.init), "\(name.debugDescription)") }
        let policy = Policy.default
        #expect(policy.jurisdictions["DE-BY"] == nil && policy.rule(for: "DE-BY") == policy.jurisdictions["DE"] && policy.rule(for: "--DE") == policy.jurisdictions["DE"])
    }

    @Test(
        "a bad policy file is refused with the path and what to fix",
        arguments: [
            (#"[]"#, "$"),
            (#"{"retention_days": 30}"#, "$.policy_version"),
            (#"{"policy_version": "x", "retention_days": 0}"#, "$.retention_days"),
            (#"{"policy_version": "x", "retention_days": 30, "notice_grace_seconds": -1}"#, "$.notice_grace_seconds"),
            ("not json", "$"),
        ])
    func refusesBadFiles(_ text: String, _ path: String) {
        #expect(throws: PolicyError.self) { try Policy(json: Array(text.utf8)) }
        do { _ = try Policy(json: Array(text.utf8)) } catch { #expect(error.path == path, "\(error)") }
    }

    @Test("a jurisdiction without a citation, an unknown regime or a misspelt setting is refused")
    func refusesIncompleteRules() throws {
        let base = try JSONParser.parse(PackageResources.default_policy_json)
        func edited(_ change: (inout [(key: String, value: JSONValue)]) -> Void) -> [UInt8] {
            guard case .object(var members) = base else { return [] }
            change(&members)
            return JSONValue.object(members).canonicalBytes
        }
        let noCitation = edited { members in
            let index = members.firstIndex { $0.key == "jurisdictions" }!
            members[index].value = ["US-TX": ["regime": "one_party"]]
        }
        #expect { try Policy(json: noCitation) } throws: { ($0 as? PolicyError)?.path == "$.jurisdictions.US-TX.citation" }
        let badRegime = edited { members in
            let index = members.firstIndex { $0.key == "fallback" }!
            members[index].value = ["regime": "two_party", "citation": "x"]
        }
        #expect { try Policy(json: badRegime) } throws: { ($0 as? PolicyError)?.path == "$.fallback.regime" }
        let misspelt = edited { $0.append((key: "retention_dayz", value: 5)) }
        #expect { try Policy(json: misspelt) } throws: { ($0 as? PolicyError)?.path == "$.retention_dayz" }
    }

    @Test("the policy hash follows the content, not the formatting")
    func hashIsCanonical() throws {
        let reformatted = try JSONParser.parse(PackageResources.default_policy_json).canonicalBytes
        #expect(try Policy(json: reformatted).hash == policy.hash)
        var changed = try JSONParser.parse(PackageResources.default_policy_json)
        if case .object(var members) = changed {
            members[members.firstIndex { $0.key == "retention_days" }!].value = 31
            changed = .object(members)
        }
        #expect(try Policy(json: changed.canonicalBytes).hash != policy.hash)
    }
}
