extension Duration {
    /// The duration in seconds, as a floating-point number (for rates and reports).
    package var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Whole milliseconds, rounded down (for C APIs that take a millisecond timeout).
    package var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

extension Duration {
    /// Whole seconds, rounded down.
    package var wholeSeconds: Int64 { components.seconds }
}

extension Duration {
    /// Whole nanoseconds, rounded down (for counters of time spent).
    package var nanoseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
    }
}
