import Foundation

/// How the HTTP API listens and what it allows; every default fits production.
package struct APIConfiguration: Sendable {
    /// Where to listen. Default `127.0.0.1:8080`.
    package var host: String
    package var port: Int
    /// TLS from PEM files; nil serves plain HTTP (behind a TLS-terminating proxy, say).
    package var tls: TLSFiles?
    /// A request taking longer is answered 503. Default 30 s.
    package var requestTimeout: Duration
    /// Requests per second each token may make on average, and the burst it may save up. Default 50 and 100; zero disables.
    package var rateLimit: Double
    package var rateBurst: Double
    /// Failed authentications (unknown or revoked tokens) each client address
    /// may make: `authFailureBurst` at once, then `authFailuresPerMinute`.
    /// Past that, its unknown tokens get 429 without a database lookup; tokens
    /// that were valid keep working. Default 10 and 6 a minute; zero a minute disables.
    package var authFailuresPerMinute: Double
    package var authFailureBurst: Double
    /// The longest range an on-demand report (`POST /v1/reports`) may cover. Default 92 days (a quarter).
    package var reportMaxRangeDays: Int
    /// On-demand reports waiting behind the one being generated, for all tokens together. Default 4.
    package var reportQueue: Int
    /// Bytes of report versions kept in memory for reading again. Default 64 MiB.
    package var reportCacheBytes: Int
    /// PostgreSQL sessions the API uses, each on its own thread. Default 4.
    package var databaseConnections: Int
    /// Where the signing keys are. Default `defaultKeyDirectory`; `serve` sets it to `ServeConfiguration.keyDirectory`.
    package var keyDirectory: URL

    /// The signing keys' folder when none is given, for `serve` and every command: `./callaudit-keys`.
    package static let defaultKeyDirectory = URL(fileURLWithPath: "callaudit-keys")

    package struct TLSFiles: Sendable {
        package var certificateChain: String
        package var privateKey: String

        package init(certificateChain: String, privateKey: String) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
        }
    }

    package init(
        host: String = "127.0.0.1", port: Int = 8080, tls: TLSFiles? = nil,
        requestTimeout: Duration = .seconds(30), rateLimit: Double = 50, rateBurst: Double = 100, authFailuresPerMinute: Double = 6,
        authFailureBurst: Double = 10, reportMaxRangeDays: Int = 92, reportQueue: Int = 4, reportCacheBytes: Int = 64 << 20,
        databaseConnections: Int = 4, keyDirectory: URL = APIConfiguration.defaultKeyDirectory
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.requestTimeout = requestTimeout
        self.rateLimit = rateLimit
        self.rateBurst = rateBurst
        self.authFailuresPerMinute = authFailuresPerMinute
        self.authFailureBurst = authFailureBurst
        self.reportMaxRangeDays = reportMaxRangeDays
        self.reportQueue = reportQueue
        self.reportCacheBytes = reportCacheBytes
        self.databaseConnections = databaseConnections
        self.keyDirectory = keyDirectory
    }

    /// Where it listens, as `host:port`.
    package var address: String { "\(host):\(port)" }

    /// `host:port` (a bracketed IPv6 host is unbracketed); nil for anything else.
    package static func parseAddress(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65_535).contains(port) else {
            return nil
        }
        let host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return host.isEmpty ? nil : (host, port)
    }
}
