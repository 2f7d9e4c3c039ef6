import Foundation

/// The DOM after scripts ran, and what Chromium logged from the page's console.
func headlessChromium(_ page: URL, screenshot: URL? = nil, budgetMilliseconds: Int = 3_000) throws -> (dom: String, console: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
    let profile = FileManager.default.temporaryDirectory.appendingPathComponent("chromium-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: profile) }
    process.arguments = [
        "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", "--user-data-dir=\(profile.path)",
        "--virtual-time-budget=\(budgetMilliseconds)", "--dump-dom", page.absoluteString,
    ]
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let dom = output.fileHandleForReading.readDataToEndOfFile()
    let log = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let console = String(decoding: log, as: UTF8.self).split(separator: "\n").filter { $0.contains("CONSOLE") }.joined(separator: "\n")
    return (String(decoding: dom, as: UTF8.self), console)
}

/// The cells of the table row whose `attribute` is `value`, as text.
func tableRow(_ dom: String, attribute: String, value: String) -> [String]? {
    guard let start = dom.range(of: "\(attribute)=\"\(value)\"") else { return nil }
    guard let end = dom.range(of: "</tr>", range: start.upperBound..<dom.endIndex) else { return nil }
    return dom[start.upperBound..<end.lowerBound].components(separatedBy: "<td").dropFirst().map { cell in
        let content = cell.drop { $0 != ">" }.dropFirst()
        return strip(content.components(separatedBy: "</td>")[0])
    }
}

/// Text without tags, entities decoded as the dashboard writes them.
private func strip(_ html: String) -> String {
    html.replacingOccurrences(of: "<[^>]+>", with: "", options: .regularExpression).replacingOccurrences(of: "&amp;", with: "&")
}
