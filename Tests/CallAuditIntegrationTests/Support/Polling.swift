import Foundation

// Polling instead of sleeping: a test waits for what it needs to see, no
// longer, and fails with what it waited for when the deadline passes.

/// Polls `condition` until it holds or `seconds` pass; returns whether it held.
func waitUntil(seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.1)
    }
    return try condition()
}

/// Polls `condition` for `seconds` and returns whether it held every time: a
/// "nothing happens" check watches for a while, and stops at the first change.
func holdsThroughout(seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        guard try condition() else { return false }
        Thread.sleep(forTimeInterval: 0.1)
    }
    return try condition()
}
