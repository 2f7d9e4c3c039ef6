import CallAuditDomain
import FuzzDriver

/// The JSON parser: only RFC 8259 JSON, rejected only for I-JSON limits, round trips (JSONProperties.checkParser).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzDriver.run(start, count, JSONProperties.checkParser)
}

/// What SwiftPM links as `main` (see FuzzDriver): libFuzzer\'s driver.
@_cdecl("FuzzJSON_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.main(argc, argv, testOneInput)
}
