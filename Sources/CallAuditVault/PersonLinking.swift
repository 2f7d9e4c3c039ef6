import CallAuditDomain

/// When two identifiers belong to one person: the rule the vault links by.
///
/// - A customer id or an employee id (*strong*) names one person, for good:
///   a subject that carries one is that id's person, whoever else its phone
///   or e-mail has been seen with.
/// - A phone or an e-mail (*weak*) names the person it was first seen with,
///   as long as no strong id disagrees: a subject whose customer id is not
///   that person's (they have another one) is someone else.
/// - A phone or e-mail seen with a second person becomes *shared* and names
///   nobody from then on: a switchboard number that many customers call from
///   never merges them, and a DPO who names a person by it alone is asked for
///   a stronger identifier.
///
/// Links only ever grow, and nothing is merged after the fact: an export
/// holds the calls of the persons its identifiers name under this rule, and
/// an erasure shreds only their keys.
struct PersonLinking {
    /// What a blind index names.
    enum Entry: Equatable {
        case person(String)
        /// Linked to these persons, so naming none of them.
        case shared(Set<String>)

        /// Each person linked to the identifier.
        func forEachHolder(_ body: (String) -> Void) {
            switch self {
            case .person(let ref): body(ref)
            case .shared(let holders): holders.forEach(body)
            }
        }
    }

    /// A person the vault knows: their key, and their strong identifiers by kind.
    struct Person: Equatable {
        var subject: ResolvedSubject
        var strong: [String: BlindIndex] = [:]

        /// The person as the cache keeps them: without the batch's sealing state.
        var withoutSealing: Person { Person(subject: subject.withoutSealing, strong: strong) }
    }

    /// One identifier of a subject, as its blind index.
    struct Key: Equatable {
        let kind: String
        let index: BlindIndex
        /// Whether `kind` is a strong one, looked up once: the rule asks it of
        /// a key three or four times, each a hash of the kind's string.
        let isStrong: Bool
        init(kind: String, index: [UInt8]) {
            self.kind = kind
            self.index = BlindIndex(index)
            isStrong = PersonLinking.strongKinds.contains(kind)
        }
    }

    /// A link to store: this identifier, this person.
    struct Link: Equatable {
        var index: BlindIndex
        var ref: String
        var kind: String
    }

    static let strongKinds: Set<String> = ["customer_id", "employee_id"]

    var entries: [BlindIndex: Entry]
    var persons: [String: Person]
    private(set) var created: [ResolvedSubject] = []
    private(set) var links: [Link] = []

    init(entries: [BlindIndex: Entry] = [:], persons: [String: Person] = [:]) {
        self.entries = entries
        self.persons = persons
    }

    /// Room for a batch's subjects and identifiers: growing the tables one
    /// insertion at a time rehashed every key already in them.
    mutating func reserveCapacity(subjects: Int, identifiers: Int) {
        entries.reserveCapacity(entries.count + identifiers)
        persons.reserveCapacity(persons.count + subjects)
        created.reserveCapacity(subjects)
        links.reserveCapacity(identifiers)
    }

    /// The person a subject with these identifiers is, linking what is new;
    /// `makePerson` makes one when nobody known is this subject. Returned set
    /// up for sealing, keyed once per batch: this linking lives for one batch,
    /// and its persons go into the cache without the sealing state.
    mutating func resolve(_ keys: [Key], makePerson: () -> ResolvedSubject) -> ResolvedSubject {
        let ref = existingPerson(for: keys) ?? {
            let fresh = makePerson()
            created.append(fresh)
            persons[fresh.ref] = Person(subject: fresh)
            return fresh.ref
        }()
        for key in keys { link(key, to: ref) }
        return persons[ref]!.subject.keyedForSealing()
    }

    /// The person a strong identifier names; else the one a phone or e-mail
    /// names, unless one of the subject's strong identifiers disagrees.
    func existingPerson(for keys: [Key]) -> String? {
        let strong = keys.filter(\.isStrong)
        for key in strong {
            switch entries[key.index] {
            case .person(let ref): return ref
            // Held by several live persons (a race before migration 14's lock, or a
            // hand edit): it names the first of them, always the same one, and is
            // never linked again. Linking it anew is what the link function
            // refuses, and a refusal the next lookup repeats would stop ingest for good.
            case .shared(let holders): if let first = holders.min() { return first }
            case nil: continue
            }
        }
        for key in keys where !key.isStrong {
            if case .person(let ref) = entries[key.index], !disagrees(persons[ref], with: strong) { return ref }
        }
        return nil
    }

    /// The persons a DPO's identifiers name, by the same rule, and the kinds
    /// given that name nobody because they are shared.
    func find(_ keys: [Key]) -> (refs: [String], shared: [String]) {
        let strong = keys.filter(\.isStrong)
        var refs: Set<String> = []
        var shared: [String] = []
        for key in keys {
            switch entries[key.index] {
            case .person(let ref) where key.isStrong || !disagrees(persons[ref], with: strong): refs.insert(ref)
            case .shared: shared.append(key.kind)
            default: break
            }
        }
        return (refs.sorted(), shared)
    }

    /// A person disagrees with a subject when they hold a strong identifier of
    /// a kind the subject carries, and it is not the subject's.
    private func disagrees(_ person: Person?, with strong: [Key]) -> Bool {
        guard let person else { return false }
        return strong.contains { key in person.strong[key.kind].map { $0 != key.index } ?? false }
    }

    private mutating func link(_ key: Key, to ref: String) {
        switch entries[key.index] {
        case nil:
            // A person holds one strong identifier of each kind: a second one stays unlinked.
            if key.isStrong {
                guard persons[ref]?.strong[key.kind] == nil else { return }
                persons[ref]?.strong[key.kind] = key.index
            }
            entries[key.index] = .person(ref)
            links.append(Link(index: key.index, ref: ref, kind: key.kind))
        case .person(let owner) where owner != ref && !key.isStrong:
            entries[key.index] = .shared([owner, ref])
            links.append(Link(index: key.index, ref: ref, kind: key.kind))
        case .shared(var holders) where !holders.contains(ref) && !key.isStrong:
            holders.insert(ref)
            entries[key.index] = .shared(holders)
            links.append(Link(index: key.index, ref: ref, kind: key.kind))
        default:
            // Already this person's; or a strong identifier that is someone else's, which stays theirs.
            break
        }
    }
}
