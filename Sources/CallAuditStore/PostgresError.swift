/// A PostgreSQL failure.
///
/// `description` is what reaches logs, dead letters and quarantine entries:
/// the SQLSTATE and the server's primary message, never its DETAIL or
/// CONTEXT, which can quote row values (personal data). For data and
/// integrity errors even the primary message can quote a value, so it is
/// withheld too. The rest is only in `debugDescription`.
package struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// Could not connect, or the connection broke: retrying on a new connection may succeed.
        case connection
        /// The server rejected a statement.
        case server(sqlState: String)
        /// The client misused the protocol or got an answer it did not expect.
        case client
    }

    package var kind: Kind
    /// The server's primary message, or libpq's for connection and client errors.
    package var message: String
    /// DETAIL, HINT and CONTEXT: only for `debugDescription`.
    var diagnostics: String
    /// The line of a COPY payload the server named as the cause (1-based), if it named one.
    package var copyLine: Int?

    package init(kind: Kind, message: String, diagnostics: String = "", copyLine: Int? = nil) {
        self.kind = kind
        self.message = message.trimmingTrailingNewlines()
        self.diagnostics = diagnostics
        self.copyLine = copyLine
    }

    /// A commit whose wait for the synchronous standby was cancelled: it is committed on the
    /// primary, so what must follow a commit (deleting files it made obsolete) must follow it too.
    package static let unconfirmedCommitMessage =
        "the commit stopped waiting for the synchronous standby (cancelled): it is committed on this server only, and a failover could lose it"

    package var isUnconfirmedCommit: Bool { sqlState == "57014" && message == Self.unconfirmedCommitMessage }

    /// CallAudit's own SQLSTATE (migration 11): a key wrapped with a KEK that was retired.
    package static let retiredKEK = "CA001"

    /// A statement after an earlier one failed in the same transaction
    /// (25P02): never the cause, which is that earlier failure.
    package var isInFailedTransaction: Bool { sqlState == "25P02" }

    package var sqlState: String? {
        if case .server(let state) = kind { return state }
        return nil
    }

    package var description: String {
        switch kind {
        case .connection: return "PostgreSQL connection failed: \(message)"
        case .client: return "PostgreSQL client error: \(message)"
        case .server(let state) where state.hasPrefix("22") || state.hasPrefix("23"):
            return "PostgreSQL error \(state) (data or integrity violation; details withheld)"
        case .server(let state): return "PostgreSQL error \(state): \(message)"
        }
    }

    package var debugDescription: String {
        "PostgresError(\(kind)): \(message)\(diagnostics.isEmpty ? "" : "\n\(diagnostics)")"
    }

    /// The line number in a CONTEXT such as `COPY events, line 42, column event: …`.
    static func copyLine(inContext context: String) -> Int? {
        for line in context.split(separator: "\n") where line.hasPrefix("COPY ") {
            guard let marker = line.range(of: ", line ") else { continue }
            return Int(line[marker.upperBound...].prefix { $0.isASCII && $0.isNumber })
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var s = self
        while s.last == "\n" { s.removeLast() }
        return s
    }
}
