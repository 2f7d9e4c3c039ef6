/// A property a parser or encoder promises, found broken on one input.
///
/// The property checks in this folder are shared by the libFuzzer targets
/// (FuzzTesting/, `./ops/fuzz`) and the regression tests, which feed every
/// input that ever failed (FuzzTesting/FailCases/) through the same function.
/// They throw instead of trapping so a test can report the failure; a fuzz
/// target turns the error into a crash, which is what libFuzzer records.
package struct PropertyViolation: Error, Sendable, CustomStringConvertible {
    package var property: String

    package init(_ property: String) { self.property = property }

    package var description: String { "property violated: \(property)" }

    /// Fails with `property` unless `holds`.
    package static func require(_ holds: Bool, _ property: @autoclosure () -> String) throws(PropertyViolation) {
        if !holds { throw PropertyViolation(property()) }
    }
}
