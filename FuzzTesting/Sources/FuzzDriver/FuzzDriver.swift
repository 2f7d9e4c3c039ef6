#if canImport(Glibc)
import Glibc
#endif
import CallAuditDomain

/// libFuzzer's entry points, shared by every fuzz target.
///
/// libFuzzer calls `LLVMFuzzerTestOneInput` (defined in each target's
/// main.swift) once per input. SwiftPM links an executable with `main` aliased
/// to `<Module>_main` (so tests can link it), which would shadow libFuzzer's own
/// `main`; each target therefore defines `<Module>_main` and hands over to
/// libFuzzer's driver here.
package enum FuzzDriver {
    package typealias Callback = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    /// Runs libFuzzer with the command line (corpus folders, -max_total_time=…, or inputs to re-run).
    package static func main(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ callback: Callback
    ) -> CInt {
        var argc = argc
        var argv = argv
        return LLVMFuzzerRunDriver(&argc, &argv, callback)
    }

    /// Feeds one input to a property check; a broken property is a crash, which libFuzzer records.
    package static func run(_ start: UnsafePointer<UInt8>?, _ count: Int, _ check: ([UInt8]) throws(PropertyViolation) -> Void) -> CInt {
        let input = start.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
        do {
            try check(input)
        } catch {
            let report = Array("\(error)\n".utf8)
            _ = report.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            abort()
        }
        return 0
    }
}

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: FuzzDriver.Callback
) -> CInt
