/// Bytes the one-pass decoder reuses from event to event, so decoding an
/// ordinary event allocates nothing once they have grown to fit.
final class ScratchBuffer {
    private(set) var pointer: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int

    init(capacity: Int = 1_024) {
        self.capacity = capacity
        pointer = .allocate(capacity: capacity)
    }

    deinit { pointer.deallocate() }

    /// Room for `count` bytes (what was there is not kept).
    func reserve(_ count: Int) {
        guard count > capacity else { return }
        pointer.deallocate()
        capacity = max(count, capacity * 2)
        pointer = .allocate(capacity: capacity)
    }
}

/// One member of an object being scanned: where its `"name":value` sits in the output.
struct MemberSpan {
    /// The opening quote of the name.
    var start: Int
    /// Just past the name's closing quote.
    var nameEnd: Int
    /// Just past the value.
    var end: Int
    /// Where the member starts once the object is sorted.
    var target = 0
}
