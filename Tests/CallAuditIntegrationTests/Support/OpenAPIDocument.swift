import CallAuditDomain
import Foundation

/// The Swift side of `x-roles` in schemas/openapi.yaml: (method, path) → roles, read with Python's YAML parser.
func documentedRoles() throws -> [((String, String), [String])] {
    let script = """
        import json, sys, yaml
        doc = yaml.safe_load(open(sys.argv[1]))
        print(json.dumps([[m.upper(), p, op["x-roles"]] for p, ops in doc["paths"].items() for m, op in ops.items()]))
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, repositoryRoot.appendingPathComponent("schemas/openapi.yaml").path]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (try JSONParser.parse(Array(data)).arrayValue ?? []).map { entry in
        let items = entry.arrayValue!
        return ((items[0].stringValue!, items[1].stringValue!), items[2].arrayValue!.compactMap(\.stringValue))
    }
}
