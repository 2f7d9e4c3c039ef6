import Hummingbird

/// The `/console` pages of the auditor and the DPO: one HTML page, its script
/// and its styles, public like `/ops` and under the same policy. The page
/// holds no data; it calls the API with the token the person signs in with.
struct ConsoleRoutes {
    /// The script is kept in a few files by concern and served as one, so the
    /// page loads one script, in this order (core first: the others use it).
    static let script: [UInt8] =
        PackageResources.console_core_js + PackageResources.console_auditor_js + PackageResources.console_dpo_js

    func register(on groups: RouteGroups) {
        groups.anyone.get("/console") { _, _ in StaticFile.response(PackageResources.console_html, type: "text/html; charset=utf-8") }
        groups.anyone.get("/console/app.js") { _, _ in StaticFile.response(Self.script, type: "text/javascript; charset=utf-8") }
        groups.anyone.get("/console/app.css") { _, _ in StaticFile.response(PackageResources.console_css, type: "text/css; charset=utf-8") }
    }
}
