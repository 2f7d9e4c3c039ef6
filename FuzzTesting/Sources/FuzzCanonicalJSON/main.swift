import CallAuditDomain
import FuzzDriver

/// RFC 8785: whatever parses canonicalises, to a fixed point, as an independent writer does (JSONProperties.checkCanonical).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzDriver.run(start, count, JSONProperties.checkCanonical)
}

/// What SwiftPM links as `main` (see FuzzDriver): libFuzzer\'s driver.
@_cdecl("FuzzCanonicalJSON_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.main(argc, argv, testOneInput)
}
