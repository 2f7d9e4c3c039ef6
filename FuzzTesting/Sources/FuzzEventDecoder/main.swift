import CallAuditDomain
import FuzzDriver

/// The event decoder, structured and binary mode: rejections name no values, both modes agree (EventDecoderProperties.check).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzDriver.run(start, count, EventDecoderProperties.check)
}

/// What SwiftPM links as `main` (see FuzzDriver): libFuzzer\'s driver.
@_cdecl("FuzzEventDecoder_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.main(argc, argv, testOneInput)
}
