/// Every event type compliance folds, looked up from a stored event's bytes
/// by length first, then eight bytes at a time (`elementsEqual` went byte by
/// byte through iterators, about 340 instructions per event): `EventType(rawValue:)` and
/// `OwnEventType(rawValue:)` need a `String` and compare it with each raw
/// value in turn, twice per event of a rebuild that reads millions.
///
/// Gives exactly what those two initialisers give for the same UTF-8 (a
/// name no case has gives nil for both); `FactScanDifferential` checks it.
enum EventTypeBytes {
    typealias Found = (contract: EventType?, own: OwnEventType?)

    /// `Found` for `name`'s bytes.
    static func lookUp(_ name: UnsafeBufferPointer<UInt8>) -> Found {
        guard name.count < byLength.count else { return (nil, nil) }
        for entry in byLength[name.count] where entry.bytes.withUnsafeBufferPointer({ $0.equals(name) }) {
            return entry.found
        }
        return (nil, nil)
    }

    /// Entries by the length of their raw value: two or three share a length at most.
    private static let byLength: [[(bytes: [UInt8], found: Found)]] = {
        let entries: [(bytes: [UInt8], found: Found)] =
            EventType.allCases.map { (Array($0.rawValue.utf8), ($0, OwnEventType(rawValue: $0.rawValue))) }
            + OwnEventType.allCases.map { (Array($0.rawValue.utf8), (EventType(rawValue: $0.rawValue), $0)) }
        var table = Array(repeating: [(bytes: [UInt8], found: Found)](), count: (entries.map(\.bytes.count).max() ?? 0) + 1)
        for entry in entries where !table[entry.bytes.count].contains(where: { $0.bytes == entry.bytes }) {
            table[entry.bytes.count].append(entry)
        }
        return table
    }()
}
