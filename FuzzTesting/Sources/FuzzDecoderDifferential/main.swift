import CallAuditDomain
import FuzzDriver

/// One decoder of each kind for the whole run, reused from input to input as the polling thread
/// reuses its own (libFuzzer calls from one thread): the one a plain ingest has, and the one that
/// leaves the hash of events with subjects to the vault.
nonisolated(unsafe) private let decoders = [
    OnePassDecoder(reference: EventDecoderProperties.decoder),
    OnePassDecoder(reference: EventDecoderProperties.decoder, subjectsWillBeSealed: true),
]

/// The one-pass decoder against the tree decoder: same bytes, columns, subjects and verdicts (DecoderDifferential.check).
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    FuzzDriver.run(start, count) { input throws(PropertyViolation) in
        try DecoderDifferential.check(fuzzInput: input, with: decoders[count % 2])
    }
}

/// What SwiftPM links as `main` (see FuzzDriver): libFuzzer's driver.
@_cdecl("FuzzDecoderDifferential_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.main(argc, argv, testOneInput)
}
