import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Progress of a long command on standard error: on a terminal a bar with
/// the rate and the time left, redrawn in place; otherwise (CI, a pipe, a
/// log file) a plain line every few seconds, so logs stay readable.
///
/// Without a known total it shows the count and the rate only.
package final class Progress {
    private let label: String
    private let unit: String
    private var total: Int?
    private let onTerminal: Bool
    private let started = ContinuousClock.now
    private var lastDrawn: ContinuousClock.Instant?
    private let lineInterval: Duration
    private var done = 0

    package init(_ label: String, total: Int?, unit: String, lineInterval: Duration = .seconds(5)) {
        self.label = label
        self.total = total
        self.unit = unit
        self.lineInterval = lineInterval
        onTerminal = isatty(STDERR_FILENO) == 1
        // Off a terminal the first line comes after one interval: short commands print only their last.
        if !onTerminal { lastDrawn = started }
    }

    /// Sets how many are done; draws when it is time to.
    package func update(_ done: Int) {
        self.done = done
        let now = ContinuousClock.now
        let every = onTerminal ? Duration.milliseconds(100) : lineInterval
        if let lastDrawn, lastDrawn.duration(to: now) < every { return }
        lastDrawn = now
        draw(final: false)
    }

    /// Draws the last state and ends the line.
    package func finish(_ done: Int? = nil) {
        if let done { self.done = done }
        if total == nil || self.done > total! { total = total.map { _ in self.done } }
        draw(final: true)
    }

    private func draw(final: Bool) {
        let elapsed = started.duration(to: .now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(done) / seconds : 0
        var text = "\(label): \(Self.grouped(done))"
        if let total, total > 0 {
            let fraction = min(Double(done) / Double(total), 1)
            text += "/\(Self.grouped(total)) \(unit) (\(Int(fraction * 100))%)"
            if onTerminal {
                let filled = Int(fraction * 30)
                text = "[\(String(repeating: "#", count: filled))\(String(repeating: " ", count: 30 - filled))] " + text
            }
            if !final, rate > 0 { text += ", \(Self.duration(Double(total - min(done, total)) / rate)) left" }
        } else {
            text += " \(unit)"
        }
        text += ", \(Self.grouped(Int(rate)))/s"
        if final { text += ", \(Self.duration(seconds))" }
        let line = onTerminal ? "\r\u{1B}[2K" + text + (final ? "\n" : "") : text + "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    static func grouped(_ value: Int) -> String {
        var digits = String(abs(value))
        var groups: [Substring] = []
        while digits.count > 3 {
            groups.insert(Substring(digits.suffix(3)), at: 0)
            digits.removeLast(3)
        }
        groups.insert(Substring(digits), at: 0)
        return (value < 0 ? "-" : "") + groups.joined(separator: ",")
    }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        if whole < 60 { return seconds < 10 ? String(format: "%.1f s", seconds) : "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }
}
