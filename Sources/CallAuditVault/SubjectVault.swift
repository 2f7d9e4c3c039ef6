import CallAuditDomain
import CallAuditStore
import Crypto
import Foundation
import Synchronization

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
    /// The blind-index key's bytes (swift-crypto's key type is not Sendable).
    private let indexKey: [UInt8]
    private let cache = Mutex<SubjectCache>(SubjectCache())

    private init(keys: KeyEncryptionKeys, reload: KeySource?, indexKey: [UInt8]) {
        self.keyring = Mutex(keys)
        self.reload = reload
        self.indexKey = indexKey
    }

    /// The KEKs as last loaded.
    package var keys: KeyEncryptionKeys { keyring.withLock { $0 } }

    /// Opens the vault: the blind-index key is read from `vault_keys` (wrapped
    /// by the KEK), or made on first use. `reload` re-reads the KEKs when a
    /// rotation elsewhere made a key current that these do not hold.
    package static func open(keys: KeyEncryptionKeys, reload: KeySource? = nil, on connection: PostgresConnection) throws -> SubjectVault {
        let vault = SubjectVault(keys: keys, reload: reload, indexKey: [])
        if let row = try connection.query("SELECT kek_id, encode(wrapped, 'hex') FROM vault_keys WHERE name = 'blind-index'").rows.first {
            let key = try vault.unwrap([UInt8](hexString: row[1]!)!, kekID: row[0]!)
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

    private func reloadKeys() throws {
        guard let reload else { return }
        let fresh = try reload()
        keyring.withLock { $0 = fresh }
    }

    /// The blind index of one identifier.
    package func blindIndex(_ identifier: Identifier) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: identifier.indexInput, using: SymmetricKey(data: indexKey)))
    }

    // MARK: Sealing events

    /// The events with every subject object sealed under its person's key;
    /// persons met for the first time are created, new identifiers linked.
    package func seal(_ events: [IncomingEvent], on connection: PostgresConnection) throws -> [IncomingEvent] {
        let plain = events.indices.flatMap { index in SubjectPaths.subjects(in: events[index].event).map { (index, $0) } }
        guard !plain.isEmpty else { return events }
        let resolved = try resolve(plain.map { Identifier.all(in: $0.1.value) }, on: connection)
        var documents: [Int: JSONValue] = [:]
        for ((index, located), subject) in zip(plain, resolved) {
            let sealed = try sealSubject(located.value, as: subject)
            documents[index] = SubjectPaths.replacing(located.path, in: documents[index] ?? events[index].event.document, with: sealed)
        }
        var result = events
        for (index, document) in documents {
            let event = events[index].event
            result[index].event = DecodedEvent(
                source: event.source, id: event.id, typeName: event.typeName, time: event.time, stream: event.stream, document: document)
        }
        return result
    }

    /// `{"subject_ref", "sealed"}` for one subject object.
    ///
    /// The nonce is synthetic (HMAC of the plaintext under the person's key,
    /// as in SIV): the same object for the same person seals to the same
    /// bytes, so a republished event keeps its content hash, and a nonce never
    /// repeats for different plaintexts.
    package func sealSubject(_ subject: JSONValue, as person: ResolvedSubject) throws -> JSONValue {
        let plaintext = subject.canonicalBytes
        let key = SymmetricKey(data: person.dataKey)
        let nonce = try AES.GCM.Nonce(data: Array(HMAC<SHA256>.authenticationCode(for: Array(person.ref.utf8) + [0] + plaintext, using: key)).prefix(12))
        let box = try AES.GCM.seal(plaintext, using: key, nonce: nonce, authenticating: Array(person.ref.utf8))
        return ["subject_ref": .string(person.ref), "sealed": .string(Data(box.combined!).base64EncodedString())]
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

    /// The persons these identifiers belong to (a DPO's lookup); never creates one.
    package func find(_ identifiers: [Identifier], on connection: PostgresConnection) throws -> [String] {
        let indexes = identifiers.map(blindIndex)
        guard !indexes.isEmpty else { return [] }
        return try connection.query(
            """
            SELECT DISTINCT s.subject_ref FROM subject_index i JOIN subjects s USING (subject_ref)
            WHERE i.blind_index = ANY($1::bytea[]) AND s.erased_at IS NULL ORDER BY 1
            """, [.text(byteaArrayLiteral(indexes))]
        ).map { $0[0]! }
    }

    /// The data key of a live person.
    func dataKey(of ref: String, on connection: PostgresConnection) throws -> [UInt8]? {
        guard let row = try connection.query(
            "SELECT kek_id, encode(wrapped_key, 'hex') FROM subjects WHERE subject_ref = $1 AND wrapped_key IS NOT NULL", [.text(ref)]
        ).rows.first else { return nil }
        return try unwrap([UInt8](hexString: row[1]!)!, kekID: row[0]!)
    }

    /// A person for each list of identifiers, in order: found through the
    /// blind index, or made. Identifiers not yet linked are linked to the
    /// person their first known identifier names. Two round trips: one to look
    /// up what the cache does not know (and whether an erasure or a KEK
    /// rotation happened since), one to store new persons and links.
    func resolve(_ subjects: [[Identifier]], on connection: PostgresConnection) throws -> [ResolvedSubject] {
        let indexes: [[[UInt8]]] = subjects.map { $0.map(blindIndex) }
        var known = try lookUp(Set(indexes.joined()), on: connection)
        var created: [ResolvedSubject] = []
        var links: [(index: [UInt8], ref: String, kind: String)] = []
        var result: [ResolvedSubject] = []
        var random = RandomPool()
        for (identifiers, blind) in zip(subjects, indexes) {
            let person = blind.lazy.compactMap { known[$0] }.first ?? {
                let fresh = ResolvedSubject(ref: "sub_" + random.take(12).hexString, dataKey: random.take(32))
                created.append(fresh)
                return fresh
            }()
            for (identifier, index) in zip(identifiers, blind) where known[index] == nil {
                known[index] = person
                links.append((index, person.ref, identifier.kind))
            }
            result.append(person)
        }
        try persist(created, links, on: connection)
        return result
    }

    /// Forgets every person cached: after a transaction that created some rolled back.
    package func forgetCachedPersons() {
        cache.withLock { $0.persons.removeAll() }
    }

    /// The persons of these blind indexes: from the cache, else the database.
    /// The same query reads the vault's epoch: after an erasure the cache is
    /// dropped and everything looked up again; after a KEK rotation the KEKs
    /// are read again.
    private func lookUp(_ indexes: Set<[UInt8]>, on connection: PostgresConnection) throws -> [[UInt8]: ResolvedSubject] {
        var found = cache.withLock { cache in indexes.reduce(into: [[UInt8]: ResolvedSubject]()) { $0[$1] = cache.persons[$1] } }
        let rows = try connection.query(
            """
            SELECT e.erasures, e.kek_current, encode(p.blind_index, 'hex'), p.subject_ref, p.kek_id, encode(p.wrapped_key, 'hex')
            FROM vault_epoch e LEFT JOIN LATERAL (
                SELECT i.blind_index, s.subject_ref, s.kek_id, s.wrapped_key FROM subject_index i JOIN subjects s USING (subject_ref)
                WHERE i.blind_index = ANY($1::bytea[]) AND s.erased_at IS NULL
            ) p ON true
            """, [.text(byteaArrayLiteral(Array(indexes.filter { found[$0] == nil })))]
        ).rows
        let epoch = rows.first?[0].flatMap { Int64($0) } ?? 0
        if let current = rows.first?[1] ?? nil, current != keys.currentID { try reloadKeys() }
        let stale = cache.withLock { cache in
            guard cache.epoch != epoch else { return false }
            cache.persons.removeAll()
            cache.epoch = epoch
            return true
        }
        // Someone was erased since: what the cache said may be gone.
        if stale && !found.isEmpty { return try lookUp(indexes, on: connection) }
        for row in rows where row[2] != nil {
            let person = ResolvedSubject(ref: row[3]!, dataKey: try unwrap([UInt8](hexString: row[5]!)!, kekID: row[4]!))
            found[[UInt8](hexString: row[2]!)!] = person
        }
        cache.withLock { cache in for (index, person) in found { cache.remember(index, person) } }
        return found
    }

    /// Stores new persons and links in one statement (`callaudit_add_subjects`).
    /// A link another writer made first fails it as a serialization failure:
    /// the caller's transaction is retried and resolves again.
    private func persist(_ created: [ResolvedSubject], _ links: [(index: [UInt8], ref: String, kind: String)], on connection: PostgresConnection) throws {
        guard !links.isEmpty || !created.isEmpty else { return }
        let keys = self.keys
        var wrapped: [[UInt8]] = []
        for person in created { wrapped.append(try keys.wrap(person.dataKey).wrapped) }
        do {
            try connection.query(
                "SELECT callaudit_add_subjects($1::text[], $2::bytea[], $3, $4::bytea[], $5::text[], $6::text[])",
                [.text(postgresArrayLiteral(created.map(\.ref))), .text(byteaArrayLiteral(wrapped)), .text(keys.currentID),
                 .text(byteaArrayLiteral(links.map(\.index))), .text(postgresArrayLiteral(links.map(\.ref))),
                 .text(postgresArrayLiteral(links.map(\.kind)))])
        } catch {
            cache.withLock { $0.persons.removeAll() }
            throw error
        }
        let createdByRef = Dictionary(uniqueKeysWithValues: created.map { ($0.ref, $0) })
        cache.withLock { cache in for link in links { cache.remember(link.index, createdByRef[link.ref] ?? cache.persons[link.index]) } }
    }
}

/// A person: their pseudonym and data key.
package struct ResolvedSubject: Sendable, Equatable {
    package var ref: String
    var dataKey: [UInt8]
}

/// Blind indexes seen lately, by the erasure epoch they were valid in.
private struct SubjectCache {
    var epoch: Int64 = -1
    var persons: [[UInt8]: ResolvedSubject] = [:]

    mutating func remember(_ index: [UInt8], _ person: ResolvedSubject?) {
        guard let person else { return }
        if persons.count > 500_000 { persons.removeAll() }
        persons[index] = person
    }
}

/// Random bytes from BoringSSL's generator (seeded from the system; no system call per draw).
func randomBytes(_ count: Int) -> [UInt8] {
    SymmetricKey(size: SymmetricKeySize(bitCount: count * 8)).withUnsafeBytes { Array($0) }
}

/// Random bytes drawn from the system 4 KiB at a time: a batch's new persons
/// (a ref and a data key each) cost one system call, not two each. Each byte
/// is handed out once; a pool lives for one batch and is never shared.
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

/// A PostgreSQL `bytea[]` literal.
func byteaArrayLiteral(_ values: [[UInt8]]) -> String {
    postgresArrayLiteral(values.map { "\\x" + $0.hexString })
}
