/// Bytes written one after another into a raw buffer that is reused from
/// event to event: what the one-pass scanner writes the canonical form into.
///
/// An `[UInt8]` checked, on every append, that its storage was uniquely
/// referenced and had room, through generic code that was not always
/// inlined: about a third of the scan's instructions (BENCHMARKS.md, issue
/// 21). Here an append is one comparison with the capacity and a copy.
///
/// A value that owns memory without counting references: exactly one copy
/// may be live. The owner (`OnePassDecoder`) hands it to the scanner and
/// takes the scanner's copy back when the scan ends (it may have grown,
/// freeing the old buffer), and frees it once, in its deinit.
struct OutputBytes {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    /// Frees the buffer: only the owner calls it, once.
    func deallocate() { base.deallocate() }

    mutating func removeAll() { count = 0 }

    @inline(__always) mutating func append(_ byte: UInt8) {
        if count == capacity { grow(toHold: count + 1) }
        base[count] = byte
        count += 1
    }

    @inline(__always) mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        if bytes.count > capacity - count { grow(toHold: count + bytes.count) }
        Self.copy(source, to: base + count, count: bytes.count)
        count += bytes.count
    }

    /// Copies `count` bytes. Runs of 4 to 32 bytes (most of an event's strings with their quotes)
    /// go through registers: a call to memcpy cost about 30 instructions per string. Every load
    /// is of bytes in `source[0..<count]` and every store of bytes in `target[0..<count]`
    /// (the words overlap, never pass the ends), and all loads happen before the stores.
    @inline(__always) static func copy(_ source: UnsafePointer<UInt8>, to target: UnsafeMutablePointer<UInt8>, count: Int) {
        let from = UnsafeRawPointer(source)
        let to = UnsafeMutableRawPointer(target)
        switch count {
        case 16...32:
            let (a, b) = (from.loadUnaligned(as: UInt64.self), from.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            let (c, d) = (from.loadUnaligned(fromByteOffset: count - 16, as: UInt64.self), from.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
            to.storeBytes(of: a, as: UInt64.self)
            to.storeBytes(of: b, toByteOffset: 8, as: UInt64.self)
            to.storeBytes(of: c, toByteOffset: count - 16, as: UInt64.self)
            to.storeBytes(of: d, toByteOffset: count - 8, as: UInt64.self)
        case 8..<16:
            let (head, tail) = (from.loadUnaligned(as: UInt64.self), from.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
            to.storeBytes(of: head, as: UInt64.self)
            to.storeBytes(of: tail, toByteOffset: count - 8, as: UInt64.self)
        case 4..<8:
            let (head, tail) = (from.loadUnaligned(as: UInt32.self), from.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
            to.storeBytes(of: head, as: UInt32.self)
            to.storeBytes(of: tail, toByteOffset: count - 4, as: UInt32.self)
        default:
            target.update(from: source, count: count)
        }
    }

    /// The bytes written so far; valid until the next append (which may move them).
    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    /// Some of the bytes written; valid until the next append.
    subscript(range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        return UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// Overwrites bytes already written, from `index` on.
    mutating func overwrite(at index: Int, with bytes: UnsafeBufferPointer<UInt8>) {
        precondition(index >= 0 && index + bytes.count <= count)
        guard let source = bytes.baseAddress else { return }
        (base + index).update(from: source, count: bytes.count)
    }

    mutating func overwrite(at index: Int, with byte: UInt8) {
        precondition(index >= 0 && index < count)
        base[index] = byte
    }

    /// Out of line: growing is rare once the buffer fits the largest event seen.
    @inline(never) private mutating func grow(toHold needed: Int) {
        let grown = max(needed, capacity * 2)
        let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        fresh.initialize(from: base, count: count)
        base.deallocate()
        base = fresh
        capacity = grown
    }
}

/// Where RFC 8785's string writer can put its bytes: the tree's `[UInt8]`, the scanner's `OutputBytes`.
protocol CanonicalByteSink {
    mutating func writeByte(_ byte: UInt8)
    mutating func writeBytes(_ bytes: UnsafeBufferPointer<UInt8>)
}

extension OutputBytes: CanonicalByteSink {
    @inline(__always) mutating func writeByte(_ byte: UInt8) { append(byte) }
    @inline(__always) mutating func writeBytes(_ bytes: UnsafeBufferPointer<UInt8>) { append(bytes) }
}

extension Array: CanonicalByteSink where Element == UInt8 {
    @inline(__always) mutating func writeByte(_ byte: UInt8) { append(byte) }
    @inline(__always) mutating func writeBytes(_ bytes: UnsafeBufferPointer<UInt8>) { append(contentsOf: bytes) }
}

extension CanonicalByteSink {
    /// A backslash and the escape's letter.
    @inline(__always) mutating func writeEscape(_ letter: UInt8) {
        writeByte(0x5C)
        writeByte(letter)
    }
}
