import CallAuditDomain
import FuzzDriver

/// The one-pass decoder against the tree decoder: same bytes, columns, subjects and verdicts (DecoderDifferential.check).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzDriver.run(start, count, DecoderDifferential.check(fuzzInput:))
}

/// What SwiftPM links as `main` (see FuzzDriver): libFuzzer's driver.
@_cdecl("FuzzDecoderDifferential_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.main(argc, argv, testOneInput)
}
