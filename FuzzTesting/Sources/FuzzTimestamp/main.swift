import CallAuditDomain
import FuzzDriver

/// RFC 3339 parsing against an independent reading, and its output's round trip (TimestampProperties.check).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzDriver.run(start, count, TimestampProperties.check)
}

/// What SwiftPM links as `main` (see FuzzDriver): libFuzzer\'s driver.
@_cdecl("FuzzTimestamp_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.main(argc, argv, testOneInput)
}
