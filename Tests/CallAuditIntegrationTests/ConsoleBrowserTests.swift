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
        let suite = repositoryRoot.appendingPathComponent("Tests/Browser/console_test.py").path
        let run = try runPython(suite, environment: variables, timeout: 420)
        #expect(run.status == 0, "\(run.output)")
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
