/// The vault's counters of what invalidates a cache: erasures, and identifiers that became shared.
struct VaultEpoch: Equatable {
    var erasures: Int64
    var relinks: Int64
}

/// What blind indexes named lately, and the persons they named, as of one epoch.
struct SubjectCache {
    var epoch: VaultEpoch?
    var entries: [BlindIndex: PersonLinking.Entry] = [:]
    var persons: [String: PersonLinking.Person] = [:]

    /// What the cache knows of these indexes (and of the persons they name).
    func linking(for indexes: Set<BlindIndex>) -> PersonLinking {
        var linking = PersonLinking()
        linking.reserveCapacity(subjects: indexes.count, identifiers: indexes.count)
        for index in indexes {
            guard let entry = entries[index] else { continue }
            linking.entries[index] = entry
            entry.forEachHolder { ref in linking.persons[ref] = persons[ref] }
        }
        return linking
    }

    /// Moves to `epoch`; true (and everything forgotten) when it changed.
    mutating func moveTo(_ epoch: VaultEpoch) -> Bool {
        guard self.epoch != epoch else { return false }
        forget()
        self.epoch = epoch
        return true
    }

    /// Remembers what `linking` says of these indexes (the ones looked up, or
    /// linked), and the persons they name: not the whole batch's entries again,
    /// most of which came from here. Persons are kept without their sealing
    /// state, which is the batch's (`SealingKey`).
    mutating func remember(_ linking: PersonLinking, indexes: some Sequence<BlindIndex>) {
        if entries.count > 500_000 { forget() }
        // Room first: grown while filled in another table's order, a table probes far more.
        entries.reserveCapacity(entries.count + indexes.underestimatedCount)
        for index in indexes {
            guard let entry = linking.entries[index] else { continue }
            entries[index] = entry
            entry.forEachHolder { ref in
                if let person = linking.persons[ref] { persons[ref] = person.withoutSealing }
            }
        }
    }

    mutating func forget() {
        entries.removeAll()
        persons.removeAll()
    }
}
