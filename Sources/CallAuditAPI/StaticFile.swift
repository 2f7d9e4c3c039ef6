import Hummingbird

/// A page's file embedded in the binary (`/ops`, `/console`), under the one
/// policy both pages share: nothing loaded from elsewhere, not framed, no
/// referrer, no type sniffing, never cached (a new release is served at once).
enum StaticFile {
    static let contentSecurityPolicy = "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'"

    static func response(_ bytes: [UInt8], type: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: type, .cacheControl: "no-store", .contentSecurityPolicy: contentSecurityPolicy,
                .init("Referrer-Policy")!: "no-referrer", .init("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
