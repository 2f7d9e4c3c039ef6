import CallAuditVault
import FuzzDriver

/// Identifier normalisation: idempotent, E.164 by the documented rule (IdentifierProperties.check).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzDriver.run(start, count, IdentifierProperties.check)
}

/// What SwiftPM links as `main` (see FuzzDriver): libFuzzer\'s driver.
@_cdecl("FuzzIdentifier_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.main(argc, argv, testOneInput)
}
