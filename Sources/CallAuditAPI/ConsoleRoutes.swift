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
        groups.anyone.get("/console") { _, _ in file(PackageResources.console_html, type: "text/html; charset=utf-8") }
        groups.anyone.get("/console/app.js") { _, _ in file(Self.script, type: "text/javascript; charset=utf-8") }
        groups.anyone.get("/console/app.css") { _, _ in file(PackageResources.console_css, type: "text/css; charset=utf-8") }
    }

    /// A file of the console, under a policy that lets it load nothing from
    /// elsewhere, never cached (a new release is served at once).
    private func file(_ bytes: [UInt8], type: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: type, .cacheControl: "no-store",
                .contentSecurityPolicy: "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
                .init("Referrer-Policy")!: "no-referrer", .init("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
