import CallAuditDomain
import CallAuditStore
import Crypto

/// A token as listed: never the token itself, which is shown once at creation and then only its hash is kept.
package struct APIToken: Sendable, Equatable {
    package var name: String
    package var role: APIRole
    package var createdAt: String
    package var revokedAt: String?
}

/// The `api_tokens` table: names, roles and SHA-256 hashes of bearer tokens.
package struct APITokenStore {
    package let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }

    /// A new token for `name` with `role`; the returned secret is not stored anywhere.
    package func create(name: String, role: APIRole) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let secret = "ca_" + base64URL((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try connection.query(
            "INSERT INTO api_tokens (name, role, token_hash) VALUES ($1, $2, $3)",
            [.text(name), .text(role.rawValue), .bytes(Self.hash(secret))])
        return secret
    }

    package func list() throws -> [APIToken] {
        try connection.query("SELECT name, role, created_at::text, revoked_at::text FROM api_tokens ORDER BY name")
            .decode((String, APIRole, String, String?).self)
            .map { APIToken(name: $0, role: $1, createdAt: $2, revokedAt: $3) }
    }

    /// Revokes the named token; false if there is no such live token.
    package func revoke(name: String) throws -> Bool {
        try connection.query("UPDATE api_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL", [.text(name)]).affectedRows == 1
    }

    /// The live token with this secret, if any.
    package func authenticate(_ secret: String) throws -> (name: String, role: APIRole)? {
        guard let (name, role) = try connection.query(
            "SELECT name, role FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL", [.bytes(Self.hash(secret))]
        ).decodeFirst((String, APIRole).self) else { return nil }
        return (name, role)
    }

    /// The live tokens among these SHA-256 hashes, in one query: each is an
    /// index probe, so a round of many costs about what one does.
    package func authenticate(hashes: [[UInt8]]) throws -> [[UInt8]: (name: String, role: APIRole)] {
        guard !hashes.isEmpty else { return [:] }
        let rows = try connection.query(
            """
            SELECT w.hash, t.name, t.role FROM unnest($1::text[]) AS w(hash)
            JOIN api_tokens t ON t.token_hash = decode(w.hash, 'hex') AND t.revoked_at IS NULL
            """, [.text(postgresArrayLiteral(hashes.map(\.hexString)))]
        ).typedRows
        // A row that cannot be read (a role this build does not know) fails only its own token, never the round.
        let live = rows.compactMap { try? $0.decode((String, String, APIRole).self) }
        return Dictionary(live.map { ([UInt8](hexString: $0) ?? [], (name: $1, role: $2)) }, uniquingKeysWith: { first, _ in first })
    }

    package static func hash(_ secret: String) -> [UInt8] { Array(SHA256.hash(data: Array(secret.utf8))) }
}

/// Base64 with the URL-safe alphabet and no padding (RFC 4648 §5).
private func base64URL(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    var out: [UInt8] = []
    var index = 0
    while index < bytes.count {
        let chunk = bytes[index..<min(index + 3, bytes.count)]
        let value = chunk.enumerated().reduce(0) { $0 | Int($1.element) << (16 - 8 * $1.offset) }
        for position in 0...chunk.count { out.append(alphabet[(value >> (18 - 6 * position)) & 0x3F]) }
        index += 3
    }
    return String(decoding: out, as: UTF8.self)
}
