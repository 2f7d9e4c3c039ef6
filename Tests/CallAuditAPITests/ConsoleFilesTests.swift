import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import CallAuditAPI

/// The `/console` files: public, never cached, under a policy that loads
/// nothing from elsewhere; and the script's own safety rules, checked on its
/// text (the browser tests drive what it does).
@Suite("The console's files")
struct ConsoleFilesTests {
    private static let files = [
        ("/console", "text/html; charset=utf-8"), ("/console/app.js", "text/javascript; charset=utf-8"),
        ("/console/app.css", "text/css; charset=utf-8"),
    ]

    @Test("served to anyone, a token or not, with the dashboard's security headers")
    func headers() async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            for (path, type) in Self.files {
                for authorization in [nil, "Bearer ca_not-a-real-token"] {
                    let response = try await client.send(.get, path, authorization: authorization)
                    response.expectStaticFile(path, type: type)
                }
            }
            let other = try await client.send(.post, "/console")
            #expect(other.status == .methodNotAllowed)
        }
    }

    @Test("the script is its three files, core first; the page loads it and the styles from self")
    func oneScript() async throws {
        let harness = try APIHarness()
        try await harness.test { client in
            let script = try await client.send(.get, "/console/app.js")
            #expect(Array(buffer: script.body) == PackageResources.console_core_js + PackageResources.console_auditor_js + PackageResources.console_dpo_js)
            let page = try await client.send(.get, "/console").text
            #expect(page.contains(#"<script src="/console/app.js" defer></script>"#))
            #expect(page.contains(#"<link rel="stylesheet" href="/console/app.css">"#))
            #expect(!page.contains("<script>") && !page.contains(" style="), "no inline script or style: the policy would refuse them")
        }
    }

    @Test("what the browser tests find by id is on the page or in the script")
    func elementIDs() {
        let page = String(decoding: PackageResources.console_html, as: UTF8.self)
        let script = String(decoding: ConsoleRoutes.script, as: UTF8.self)
        for id in ["signin", "signin-token", "signin-submit", "signin-error", "whoami", "signout", "nav-reports", "nav-seals", "nav-requests",
                   "nav-new-request", "page"] {
            #expect(page.contains(#"id="\#(id)""#), "\(id)")
        }
        for id in ["reports-table", "filter-kind", "filter-status", "filter-from", "filter-to", "reports-more", "report-verify", "report-bundle",
                   "report-versions", "report-changes", "report-findings", "generate-from", "generate-to", "generate-submit", "generate-status",
                   "seals-head", "seals-table", "requests-table", "requests-more", "request-form", "request-type", "request-regime", "request-phone",
                   "request-email", "request-customer-id", "request-employee-id", "request-verified-by", "request-submit", "request-error",
                   "request-history", "request-subject", "extend-reason", "extend-submit", "close-outcome", "close-submit", "export-download",
                   "erase-open", "erase-confirm-id", "erase-submit", "erase-result", "action-error"] {
            #expect(script.contains(#""\#(id)""#), "\(id)")
        }
    }

    @Test("the script never parses a value as HTML, evaluates text, or keeps the token beyond the tab")
    func scriptSafety() {
        let script = String(decoding: ConsoleRoutes.script, as: UTF8.self)
        for forbidden in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "localStorage", "setTimeout(\""] {
            #expect(!script.contains(forbidden), "\(forbidden)")
        }
        #expect(script.contains(#"const TOKEN_KEY = "callaudit.token";"#))
        #expect(script.contains("sessionStorage.setItem(TOKEN_KEY"))
    }
}
