/// The byte order of member names, as the scanners need it: RFC 8785 orders
/// ASCII names by their bytes. Indexed loops over the buffers: the generic
/// `lexicographicallyPrecedes` went through iterators, and with `same` it cost
/// about 550 instructions per event of the rebuild's scan (every member of the
/// envelope and of `data` is compared with the one before and the judged list).
enum NameOrder {
    /// Negative when `a` comes before `b`, zero when equal, positive after.
    static func compare(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        let common = min(a.count, b.count)
        var at = 0
        while at < common {
            // Both indices are below `common`, so within both buffers.
            let (x, y) = (a[at], b[at])
            if x != y { return Int(x) - Int(y) }
            at += 1
        }
        return a.count - b.count
    }

    static func precedes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool { compare(a, b) < 0 }
}
