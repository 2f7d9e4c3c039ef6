import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension DatabaseTests {
@Suite("The console in a real browser: Selenium drives Chromium as the auditor, the DPO and ops; axe-core reads every page")
struct ConsoleBrowserTests {
    /// The checks themselves are Python (Tests/Browser/console_test.py, runnable by hand against
    /// any service); this test gives them a world and fails with their output when one fails.
    /// `CALLAUDIT_CONSOLE_SCREENSHOTS=docs/console` also takes the pictures the README shows.
    @Test("the console's browser suite passes: sign-in, reports verified in the page and by OpenSSL, on-demand reports, seals, requests, export, erasure, ops shut out, axe-core, keyboard only, first paint over 10,000 rows")
    func browserSuite() throws {
        guard toolExists("chromedriver"), shell("python3 -c 'import selenium, axe_selenium_python'") == 0 else {
            Issue.record("chromium-driver, selenium or axe-selenium-python is missing: `source ops/lib.sh; ensure_test_tools` installs them")
            return
        }
        let world = try ConsoleWorld()
        var variables = world.suiteEnvironment
        variables["CONSOLE_SCREENSHOTS"] = environment["CALLAUDIT_CONSOLE_SCREENSHOTS"]
        if let seconds = environment["CALLAUDIT_CONSOLE_HOLD_SECONDS"].flatMap(Double.init) {
            try holdOpen(variables, seconds: seconds)
            return
        }
        let suite = repositoryRoot.appendingPathComponent("Tests/Browser/console_test.py").path
        let run = try runPython(suite, environment: variables, timeout: 420)
        #expect(run.status == 0, "\(run.output)")
    }

    /// For working on the console or the suite: keeps the world up for `seconds` instead of running the
    /// suite, its variables in `callaudit-console-world.env` of the temporary folder (`source` it, then run
    /// console_test.py by hand, as often as needed).
    private func holdOpen(_ variables: [String: String], seconds: Double) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("callaudit-console-world.env")
        let exports = variables.sorted { $0.key < $1.key }.map { "export \($0.key)='\($0.value)'" }.joined(separator: "\n")
        try (exports + "\n").write(to: file, atomically: true, encoding: .utf8)
        Thread.sleep(forTimeInterval: seconds)
        try? FileManager.default.removeItem(at: file)
    }

    /// Runs a Python script with `environment` added to the test's; its combined output and exit status
    /// (killed after `timeout` seconds, so a hung browser fails the test instead of holding the suite).
    private func runPython(_ script: String, environment extra: [String: String], timeout: Double) throws -> (output: String, status: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", script]
        process.environment = childEnvironment().merging(extra) { _, added in added }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGTERM) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return (String(decoding: data, as: UTF8.self), process.terminationStatus)
    }
}
}
