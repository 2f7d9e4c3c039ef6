import CallAuditDomain
import CallAuditStore
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `callaudit serve` with its HTTP API, fed by events appended straight to the store.
final class RunningAPI {
    let database: TestDatabase
    let kafka: TestKafka
    let keys: URL
    let port: Int
    let serve: ServeProcess
    var tokens: [String: String] = [:]

    /// `asOwner`: serve as the database's owner (a superuser), with `--allow-privileged-role`.
    /// `listen`: the host serve binds (`[::]` for a dual-stack socket); requests still go to 127.0.0.1.
    init(extra: [String] = [], partitions: Int32 = 1, asOwner: Bool = false, listen: String = "127.0.0.1") throws {
        database = try TestDatabase.create()
        kafka = try TestKafka(partitions: partitions)
        keys = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-keys-\(UUID().uuidString)")
        port = freePort()
        serve = try ServeProcess(
            kafka: kafka, database: database,
            extra: ["--http-address", "\(listen):\(port)", "--key-dir", keys.path, "--report-close-delay-hours", "0", "--report-interval", "1"]
                + (asOwner ? ["--database-url", database.ownerURL, "--allow-privileged-role"] : []) + extra)
        for role in ["auditor", "dpo", "ops", "admin"] {
            tokens[role] = try runCallAudit(["tokens", "create", "--role", role, "--name", "\(role)-1", "--database-url", database.ownerURL])
                .output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard waitUntil(seconds: 30, { (try? self.get("/healthz").status) == 200 }) else {
            throw TestFailure("the API did not come up: \(serve.standardError)")
        }
    }

    deinit {
        _ = serve.terminate(within: 10)
        try? FileManager.default.removeItem(at: keys)
        database.drop()
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// Appends events as the ingest service would.
    func append(_ events: [IncomingEvent]) throws {
        try EventStore(connection: try PostgresConnection(conninfo: database.serviceURL)).append(IngestBatch(events: events), consumerGroup: "test")
    }

    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var json: JSONValue? { try? JSONParser.parse(body) }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    func get(_ path: String, token: String? = nil) throws -> Reply { try request("GET", path, token: token) }

    func request(_ method: String, _ path: String, token: String? = nil, authorization: String? = nil, body: [UInt8]? = nil) throws -> Reply {
        try Self.httpRequest(base: base, method, path, token: token, authorization: authorization, body: body)
    }

    /// One request to the API at `base` (`http://127.0.0.1:PORT`), waiting for its answer.
    static func httpRequest(
        base: String, _ method: String, _ path: String, token: String? = nil, authorization: String? = nil, body: [UInt8]? = nil,
        timeout: Double = 60
    ) throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!, timeoutInterval: timeout)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = Data(body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox()
        URLSession.shared.dataTask(with: request) { data, response, error in
            result.value = (data, response as? HTTPURLResponse, error)
            done.signal()
        }.resume()
        done.wait()
        guard let (data, response, error) = result.value, let response else {
            throw TestFailure("\(method) \(path): \(String(describing: result.value?.2))")
        }
        _ = error
        var headers: [String: String] = [:]
        for (key, value) in response.allHeaderFields { headers[String(describing: key).lowercased()] = String(describing: value) }
        return Reply(status: response.statusCode, headers: headers, body: Array(data ?? Data()))
    }

    /// Waits for the scheduler to issue `id` at `version` or later; its listing.
    func awaitReport(_ id: String, version: Int = 1, seconds: Double = 60) throws -> JSONValue? {
        var found: JSONValue?
        _ = try waitUntil(seconds: seconds) {
            found = try get("/v1/reports", token: tokens["auditor"]).json?["reports"]?.arrayValue?.first {
                $0["report_id"]?.stringValue == id && ($0["version"]?.numberValue ?? 0) >= Double(version)
            }
            return found != nil
        }
        return found
    }
}

private final class ResultBox: @unchecked Sendable {
    var value: (Data?, HTTPURLResponse?, (any Error)?)?
}
