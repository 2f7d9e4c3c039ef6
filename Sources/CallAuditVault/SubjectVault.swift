import CallAuditDomain
import CallAuditStore
import Crypto
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Personal data at rest: every subject object (a party's or a request's
/// identifiers and name) is stored encrypted with the data key of the person
/// it names, so erasure is destroying one key.
///
/// **Subjects.** A person is a `subject_ref` (a random pseudonym) with a data
/// key, wrapped by the KEK. They are found by a *blind index*: HMAC-SHA256
/// under a secret index key over each normalised identifier, so the database
/// can match a phone number without holding one. A party that brings a new
/// identifier for a known person links it to that person.
///
/// **In events**, `{"phone": …, "name": …}` becomes
/// `{"subject_ref": "sub_…", "sealed": base64}`: AES-GCM over the original
/// object's canonical bytes, the ref as associated data. Content hashes cover
/// this stored form, so destroying the key leaves every hash intact.
/// Projections, findings and reports see only refs.
package final class SubjectVault: Sendable {
    /// Where the KEKs come from again after a rotation (`keys rotate-kek`).
    package typealias KeySource = @Sendable () throws -> KeyEncryptionKeys

    private let keyring: Mutex<KeyEncryptionKeys>
    private let reload: KeySource?
    /// The blind-index HMAC, keyed once when the vault opens: keying it per
    /// identifier was most of the seal stage's HMAC work (BENCHMARKS.md).
    private let indexMAC: HMACSHA256
    private let cache = Mutex<SubjectCache>(SubjectCache())

    private init(keys: KeyEncryptionKeys, reload: KeySource?, indexKey: [UInt8]) {
        self.keyring = Mutex(keys)
        self.reload = reload
        self.indexMAC = HMACSHA256(key: indexKey)
    }

    /// The KEKs as last loaded.
    package var keys: KeyEncryptionKeys { keyring.withLock { $0 } }

    /// Opens the vault: the blind-index key is read from `vault_keys` (wrapped
    /// by the KEK), or made on first use. `reload` re-reads the KEKs when a
    /// rotation elsewhere made a key current that these do not hold.
    package static func open(keys: KeyEncryptionKeys, reload: KeySource? = nil, on connection: PostgresConnection) throws -> SubjectVault {
        let vault = SubjectVault(keys: keys, reload: reload, indexKey: [])
        let stored = try connection.query("SELECT kek_id, encode(wrapped, 'hex') FROM vault_keys WHERE name = 'blind-index'")
            .decodeFirst((String, HexBytes).self)
        if let (kekID, wrapped) = stored {
            let key = try vault.unwrap(wrapped.bytes, kekID: kekID)
            return SubjectVault(keys: vault.keys, reload: reload, indexKey: key)
        }
        let fresh = randomBytes(32)
        let (kekID, wrapped) = try keys.wrap(fresh)
        try connection.query(
            "INSERT INTO vault_keys (name, kek_id, wrapped) VALUES ('blind-index', $1, $2) ON CONFLICT (name) DO NOTHING",
            [.text(kekID), .bytes(wrapped)])
        // Another instance may have made it first: theirs stands.
        return try open(keys: keys, reload: reload, on: connection)
    }

    /// Unwraps a data key; a KEK not held sends the vault back to its source once (a rotation happened).
    func unwrap(_ wrapped: [UInt8], kekID: String) throws -> [UInt8] {
        do {
            return try keys.unwrap(wrapped, kekID: kekID)
        } catch .missingKEK where reload != nil {
            try reloadKeys()
            return try keys.unwrap(wrapped, kekID: kekID)
        }
    }

    /// Reads the KEK the vault wraps new keys with now, and the keys again if
    /// it rotated since. A person's look-up notices a rotation by itself; a
    /// dead letter is wrapped without one, and wrapped with a KEK retired
    /// meanwhile it was refused (CA001) for as long as its batch was retried.
    func followKEKRotation(on connection: PostgresConnection) throws {
        let epoch = try connection.query(LookupSQL.epoch).decode(LookupRow.Columns.self).map(LookupRow.init)
        if let current = epoch.first?.currentKEK, current != keys.currentID { try reloadKeys() }
    }

    private func reloadKeys() throws {
        guard let reload else { return }
        let fresh = try reload()
        keyring.withLock { $0 = fresh }
    }

    /// The blind index of one identifier.
    package func blindIndex(_ identifier: Identifier) -> [UInt8] {
        indexMAC.code(for: identifier.indexInput)
    }

    // MARK: Sealing events

    /// The events with every subject object sealed under its person's key;
    /// persons met for the first time are created, new identifiers linked.
    package func seal(_ events: [IncomingEvent], on connection: PostgresConnection) throws -> [IncomingEvent] {
        var events = events
        _ = try seal(&events, on: connection)
        return events
    }

    /// The same, in place, returning what sealing took out of the events (their
    /// bytes in the clear) for the caller to free where it allocated them. Held
    /// by nothing else, the array is changed without a copy: copying each event
    /// (every field retained, later released twice) was about two thirds of the
    /// seal thread's `swift_retain` (BENCHMARKS.md, issue 21's seventh pass).
    ///
    /// An event the one-pass decoder wrote is sealed in its bytes (each subject's
    /// canonical bytes are its plaintext, its sealed form written straight into
    /// the event's new bytes); one made from a tree is walked. Both give the same
    /// bytes (`DecoderDifferential`, `SealedSubjectTests`).
    ///
    /// Everything that can fail for a reason a retry mends (the database, a KEK
    /// not held) fails before any event changes: a caller retries with the
    /// events as they were. Only AES-GCM failing, which no retry mends, would
    /// leave some sealed and some not.
    package func seal(_ events: inout [IncomingEvent], on connection: PostgresConnection) throws -> [DecodedEvent.Cleartext] {
        let subjects = Self.subjects(in: events)
        let identifiers = subjects.flatMap(\.identifiers)
        guard !identifiers.isEmpty else { return [] }
        var persons = try resolve(identifiers, on: connection)[...]
        var cleartext: [DecodedEvent.Cleartext] = []
        cleartext.reserveCapacity(events.count)
        for (index, found) in zip(events.indices, subjects) where found.count > 0 {
            let mine = persons.prefix(found.count)
            persons = persons.dropFirst(found.count)
            if let ranges = events[index].event.subjectRanges {
                let growth = zip(ranges, mine).reduce(0) { $0 + SealedSubject.canonicalCount(plaintext: $1.0.count, ref: $1.1.ref) - $1.0.count }
                cleartext.append(try events[index].event.replaceSubjects(growth: growth) { subject, plaintext, bytes in
                    try SealedSubject.appendCanonicalBytes(of: plaintext, as: mine[mine.startIndex + subject], to: &bytes)
                })
            } else {
                let sealed = try zip(found.trees, mine).map { try sealSubject($0, as: $1) }
                cleartext.append(events[index].event.replaceSubjects(with: sealed))
            }
        }
        return cleartext
    }

    /// Each event's subjects. Passed whole to a function, an event is copied
    /// out of the array (each field retained, then released: most of the seal
    /// stage's `swift_retain`), so an event the one-pass decoder wrote gives
    /// only its subjects' ranges and its bytes.
    private static func subjects(in events: [IncomingEvent]) -> [FoundSubjects] {
        var subjects: [FoundSubjects] = []
        subjects.reserveCapacity(events.count)
        for index in events.indices {
            guard let ranges = events[index].event.subjectRanges else {
                subjects.append(SubjectPaths.found(in: events[index].event))
                continue
            }
            subjects.append(ranges.isEmpty ? FoundSubjects(trees: [], identifiers: []) : SubjectPaths.found(in: events[index].event.canonical, at: ranges))
        }
        return subjects
    }

    /// `{"subject_ref", "sealed"}` for one subject object (`SealedSubject`).
    package func sealSubject(_ subject: JSONValue, as person: ResolvedSubject) throws -> JSONValue {
        try SealedSubject.value(of: subject.canonicalBytes[...], as: person)
    }

    /// The plaintext of a sealed subject object; nil when its person was erased.
    package func openSubject(_ sealed: JSONValue, on connection: PostgresConnection) throws -> JSONValue? {
        guard let ref = sealed["subject_ref"]?.stringValue, let text = sealed["sealed"]?.stringValue, let bytes = Data(base64Encoded: text) else {
            return nil
        }
        guard let key = try dataKey(of: ref, on: connection) else { return nil }
        do {
            let plain = try AES.GCM.open(try AES.GCM.SealedBox(combined: bytes), using: SymmetricKey(data: key), authenticating: Array(ref.utf8))
            return try JSONParser.parse(Array(plain))
        } catch {
            throw VaultError.corrupt("the subject \(ref) in an event does not open with its key")
        }
    }

    // MARK: Finding persons

    /// The persons these identifiers name (a DPO's lookup), by the linking
    /// rule (`PersonLinking`); never creates one. `shared` lists the kinds of
    /// identifier given that name nobody because several persons hold them.
    package func find(_ identifiers: [Identifier], on connection: PostgresConnection) throws -> (refs: [String], shared: [String]) {
        let keys = identifiers.map { PersonLinking.Key(kind: $0.kind, index: blindIndex($0)) }
        guard !keys.isEmpty else { return ([], []) }
        return try lookUp(Set(keys.map(\.index)), on: connection).find(keys)
    }

    /// The data key of a live person.
    func dataKey(of ref: String, on connection: PostgresConnection) throws -> [UInt8]? {
        guard let (kekID, wrapped) = try connection.query(
            "SELECT kek_id, encode(wrapped_key, 'hex') FROM subjects WHERE subject_ref = $1 AND wrapped_key IS NOT NULL", [.text(ref)]
        ).decodeFirst((String, HexBytes).self) else { return nil }
        return try unwrap(wrapped.bytes, kekID: kekID)
    }

    /// A person for each list of identifiers, in order, by the linking rule
    /// (`PersonLinking`): found through the blind index, or made. Two round
    /// trips: one to look up what the cache does not know (and whether an
    /// erasure, a newly shared identifier or a KEK rotation happened since),
    /// one to store new persons and links.
    func resolve(_ subjects: [[Identifier]], on connection: PostgresConnection) throws -> [ResolvedSubject] {
        let keys = subjects.map { $0.map { PersonLinking.Key(kind: $0.kind, index: blindIndex($0)) } }
        var linking = try lookUp(Set(keys.joined().map(\.index)), on: connection)
        linking.reserveCapacity(subjects: keys.count, identifiers: keys.reduce(0) { $0 + $1.count })
        var random = RandomPool()
        let result = keys.map { subject in
            linking.resolve(subject) { ResolvedSubject(ref: SubjectRef.random(from: &random), dataKey: random.take(32)) }
        }
        try persist(linking, nonces: &random, on: connection)
        return result
    }

    /// Forgets every person cached: after a transaction that created some rolled back.
    package func forgetCachedPersons() {
        cache.withLock { $0.forget() }
    }

    /// What these blind indexes name: from the cache, else the database. The
    /// same query reads the vault's epoch: after an erasure or a newly shared
    /// identifier the cache is dropped and everything looked up again; after
    /// a KEK rotation the KEKs are read again.
    private func lookUp(_ indexes: Set<BlindIndex>, on connection: PostgresConnection) throws -> PersonLinking {
        var linking = cache.withLock { $0.linking(for: indexes) }
        let missing = Array(indexes.filter { linking.entries[$0] == nil })
        // Everything cached: only the epoch is read, by a statement with nothing to plan.
        let rows = try (missing.isEmpty
            ? connection.query(LookupSQL.epoch)
            : connection.query(LookupSQL.links, [PostgresBinaryArray.bytea(missing.map(\.bytes))]))
            .decode(LookupRow.Columns.self).map(LookupRow.init)
        // vault_epoch holds exactly one row: the join always returns one or more.
        guard let first = rows.first else { throw PostgresDecodingError(reason: .noRow, column: "", expected: "vault_epoch") }
        let epoch = VaultEpoch(erasures: first.erasures, relinks: first.relinks)
        if let current = first.currentKEK, current != keys.currentID { try reloadKeys() }
        let stale = cache.withLock { $0.moveTo(epoch) }
        // Someone was erased, or an identifier shared, since: what the cache said may be wrong.
        if stale && !linking.entries.isEmpty { return try lookUp(indexes, on: connection) }
        try add(rows, to: &linking)
        cache.withLock { $0.remember(linking, indexes: missing) }
        return linking
    }

    /// Folds looked-up rows into what the cache knew: each link, the shared
    /// identifiers, and the strong identifiers of the persons found.
    private func add(_ rows: [LookupRow], to linking: inout PersonLinking) throws {
        var holders: [BlindIndex: Set<String>] = [:]
        var shared: Set<BlindIndex> = []
        var strong: [(ref: String, kind: String, index: BlindIndex)] = []
        for row in rows {
            switch row.found {
            case nil: continue
            case .link(let index, let ref, let kekID, let wrapped):
                holders[index, default: []].insert(ref)
                if linking.persons[ref] == nil {
                    let key = try unwrap(wrapped, kekID: kekID)
                    linking.persons[ref] = PersonLinking.Person(subject: ResolvedSubject(ref: ref, dataKey: key))
                }
            case .shared(let index):
                shared.insert(index)
            case .strong(let index, let ref, let kind):
                strong.append((ref, kind, index))
            }
        }
        // After every person: the rows come in no promised order.
        for (ref, kind, index) in strong { linking.persons[ref]?.strong[kind] = index }
        for (index, refs) in holders {
            linking.entries[index] = shared.contains(index) || refs.count > 1 ? .shared(refs) : .person(refs.first!)
        }
    }

    /// Stores new persons and links in one statement (`callaudit_link_subjects`),
    /// its arrays in binary form (`PostgresBinaryArray`): building and parsing them
    /// as text literals was about 9 k instructions per sealed event on our side alone.
    /// A person erased meanwhile, or a strong identifier another writer linked
    /// first, fails it as a serialization failure: the caller's transaction is
    /// retried and resolves again, from the database.
    private func persist(_ linking: PersonLinking, nonces: inout RandomPool, on connection: PostgresConnection) throws {
        guard !linking.links.isEmpty || !linking.created.isEmpty else { return }
        let keys = self.keys
        let wrapper = keys.currentWrapper()
        var wrapped: [[UInt8]] = []
        wrapped.reserveCapacity(linking.created.count)
        for person in linking.created { wrapped.append(try wrapper.wrap(person.dataKey, nonce: nonces.take(12))) }
        do {
            try connection.query(
                "SELECT callaudit_link_subjects($1::text[], $2::bytea[], $3, $4::bytea[], $5::text[], $6::text[])",
                [PostgresBinaryArray.text(linking.created.map(\.ref)), PostgresBinaryArray.bytea(wrapped), .text(keys.currentID),
                 PostgresBinaryArray.bytea(linking.links.map(\.index.bytes)), PostgresBinaryArray.text(linking.links.map(\.ref)),
                 PostgresBinaryArray.text(linking.links.map(\.kind))])
        } catch {
            cache.withLock { $0.forget() }
            throw error
        }
        cache.withLock { $0.remember(linking, indexes: linking.links.lazy.map(\.index)) }
    }
}

/// A person: their pseudonym and data key, and, while a batch seals under
/// them, that key set up for sealing.
package struct ResolvedSubject: Sendable, Equatable {
    package let ref: String
    let dataKey: [UInt8]
    /// Set only for the persons of the batch being sealed (`PersonLinking.resolve`):
    /// the cache keeps persons without it (`SealingKey` says why).
    private(set) var sealing: SealingKey?

    init(ref: String, dataKey: [UInt8]) {
        self.ref = ref
        self.dataKey = dataKey
    }

    /// This person set up for sealing: keyed the first time only.
    mutating func keyedForSealing() -> ResolvedSubject {
        if sealing == nil { sealing = SealingKey(ref: ref, dataKey: dataKey) }
        return self
    }

    /// This person as the cache keeps them, without the sealing state.
    var withoutSealing: ResolvedSubject { ResolvedSubject(ref: ref, dataKey: dataKey) }

    /// The same person: the sealing state follows from the key.
    package static func == (a: ResolvedSubject, b: ResolvedSubject) -> Bool { a.ref == b.ref && a.dataKey == b.dataKey }
}

/// Random bytes from the kernel's generator, in one system call (`arc4random_buf`:
/// glibc's is `getrandom`). Not `SymmetricKey(size:)`: swift-crypto fills it
/// 8 bytes per `getrandom` call, 512 calls for a 4 KiB pool (about 180 µs here).
func randomBytes(_ count: Int) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        if count > 0 { arc4random_buf(buffer.baseAddress!, count) }
        initialized = count
    }
}

/// Random bytes drawn from the system 4 KiB at a time: a batch's new persons
/// (a ref, a data key and their wrap's nonce each) cost one system call, not
/// three each. Each byte is handed out once; a pool lives for one batch and
/// is never shared.
struct RandomPool {
    private var block: [UInt8] = []
    private var next = 0

    mutating func take(_ count: Int) -> [UInt8] {
        if next + count > block.count {
            block = randomBytes(max(4_096, count))
            next = 0
        }
        defer { next += count }
        return Array(block[next..<next + count])
    }
}

/// One row of `lookUp`: the vault's epoch, and one thing found (or none, when
/// nothing matched: the epoch still comes, joined to nothing).
private struct LookupRow {
    typealias Columns = (Int64, Int64, String?, String?, HexBytes?, String?, String?, String?, HexBytes?)

    enum Found {
        /// A live person holds the identifier: their data key comes with it.
        case link(index: BlindIndex, ref: String, kekID: String, wrapped: [UInt8])
        /// Several persons hold it (`shared_identifiers`).
        case shared(index: BlindIndex)
        /// A strong identifier (customer or employee id) of a person linked here.
        case strong(index: BlindIndex, ref: String, kind: String)
    }

    var erasures: Int64
    var relinks: Int64
    var currentKEK: String?
    var found: Found?

    /// Each kind's columns must be there: a missing one is bad data, thrown, not skipped.
    init(_ columns: Columns) throws(PostgresDecodingError) {
        let (erasures, relinks, currentKEK, what, indexHex, ref, kind, kekID, wrappedHex) = columns
        (self.erasures, self.relinks, self.currentKEK) = (erasures, relinks, currentKEK)
        func required<T>(_ value: T?, _ column: String) throws(PostgresDecodingError) -> T {
            guard let value else { throw PostgresDecodingError(reason: .unexpectedNull, column: column, expected: "\(T.self)") }
            return value
        }
        let index = indexHex.map { BlindIndex($0.bytes) }, wrapped = wrappedHex?.bytes
        switch what {
        case nil: found = nil
        case "link":
            found = .link(
                index: try required(index, "blind_index"), ref: try required(ref, "subject_ref"), kekID: try required(kekID, "kek_id"),
                wrapped: try required(wrapped, "wrapped_key"))
        case "shared": found = .shared(index: try required(index, "blind_index"))
        default:
            found = .strong(index: try required(index, "blind_index"), ref: try required(ref, "subject_ref"), kind: try required(kind, "kind"))
        }
    }
}
