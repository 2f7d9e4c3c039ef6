/// A PostgreSQL failure.
///
/// `description` names the SQLSTATE and, except for data and integrity errors
/// (whose messages can quote row values, so possibly personal data), the
/// server's primary message. The full text is only in `debugDescription`.
public struct PostgresError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Could not connect, or the connection broke: retrying on a new connection may succeed.
        case connection
        /// The server rejected a statement.
        case server(sqlState: String)
        /// The client misused the protocol or got an answer it did not expect.
        case client
    }

    public var kind: Kind
    var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message.trimmingTrailingNewlines()
    }

    public var sqlState: String? {
        if case .server(let state) = kind { return state }
        return nil
    }

    /// True when the connection is gone and the work can be retried on a new one.
    public var isConnectionFailure: Bool {
        switch kind {
        case .connection: return true
        case .server(let state):
            // 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect now.
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state)
        case .client: return false
        }
    }

    public var description: String {
        switch kind {
        case .connection: return "PostgreSQL connection failed: \(message)"
        case .client: return "PostgreSQL client error: \(message)"
        case .server(let state) where state.hasPrefix("22") || state.hasPrefix("23"):
            return "PostgreSQL error \(state) (data or integrity violation; details withheld)"
        case .server(let state): return "PostgreSQL error \(state): \(message)"
        }
    }

    public var debugDescription: String { "PostgresError(\(kind)): \(message)" }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var s = self
        while s.last == "\n" { s.removeLast() }
        return s
    }
}
