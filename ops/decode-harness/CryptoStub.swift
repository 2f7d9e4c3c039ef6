// Stands in for swift-crypto in the decode harness only (ops/decode-harness/build.sh): the hash is not measured.
public struct SHA256Digest: Sequence, Sendable {
    public func makeIterator() -> IndexingIterator<[UInt8]> { [UInt8]().makeIterator() }
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try [UInt8]().withUnsafeBytes(body) }
}
public struct SHA256: Sendable {
    public init() {}
    public static func hash<D: Sequence>(data: D) -> SHA256Digest where D.Element == UInt8 { SHA256Digest() }
    public static func hash(bufferPointer: UnsafeRawBufferPointer) -> SHA256Digest { SHA256Digest() }
    public mutating func update<D: Sequence>(data: D) where D.Element == UInt8 {}
    public mutating func update(bufferPointer: UnsafeRawBufferPointer) {}
    public func finalize() -> SHA256Digest { SHA256Digest() }
}
