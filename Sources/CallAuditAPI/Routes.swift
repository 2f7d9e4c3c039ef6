import Hummingbird

/// Every path the API serves and the methods each takes: what a request with
/// another method is told (405 with `Allow`) instead of "not found".
enum Routes {
    static let table: [(pattern: [String], methods: [HTTPRequest.Method])] = [
        (["healthz"], [.get]), (["readyz"], [.get]), (["metrics"], [.get]), (["ops"], [.get]), (["ops", "app.js"], [.get]),
        (["ops", "app.css"], [.get]), (["console"], [.get]), (["console", "app.js"], [.get]), (["console", "app.css"], [.get]),
        (["v1", "status"], [.get]), (["v1", "seals"], [.get]), (["v1", "seals", "head"], [.get]), (["v1", "seals", "*"], [.get]), (["v1", "openapi.yaml"], [.get]), (["v1", "keys"], [.get]), (["v1", "whoami"], [.get]), (["v1", "reports"], [.get, .post]),
        (["v1", "reports", "*"], [.get]), (["v1", "reports", "*", "signature"], [.get]), (["v1", "reports", "*", "proofs"], [.get]),
        (["v1", "reports", "*", "versions"], [.get]), (["v1", "reports", "*", "bundle"], [.get]),
        (["v1", "requests"], [.get, .post]), (["v1", "requests", "*"], [.get]), (["v1", "requests", "*", "extend"], [.post]),
        (["v1", "requests", "*", "close"], [.post]), (["v1", "requests", "*", "export"], [.get]), (["v1", "requests", "*", "erase"], [.post]),
    ]

    static func methods(for path: String) -> [HTTPRequest.Method]? {
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        return table.first { route in
            route.pattern.count == components.count && zip(route.pattern, components).allSatisfy { $0 == "*" || $0 == $1 }
        }?.methods
    }
}
