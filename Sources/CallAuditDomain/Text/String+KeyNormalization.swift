extension String {
    /// The string in Unicode NFC, to key a projection's rows by.
    ///
    /// Swift compares and hashes strings by canonical equivalence ("é" and
    /// "e" + U+0301 are one key in a dictionary); PostgreSQL's `text` compares
    /// bytes. A projection that folds in memory and also looks rows up in
    /// PostgreSQL would merge two spellings in one batch and keep them apart
    /// across batches, so a rebuild and the incremental projection would
    /// disagree. In NFC the two agree: canonically equivalent strings have one
    /// NFC form, so equal keys have equal bytes. The stored event keeps the
    /// producer's own bytes; only the read models key by this form.
    ///
    /// ASCII (nearly every id) is already NFC and returned as it is. Otherwise
    /// it is the standard library's own normaliser, the one `==` compares by
    /// (Swift 6.3 has no public spelling of it).
    package var normalizedKey: String {
        let isASCII = utf8.withContiguousStorageIfAvailable { bytes in
            bytes.allSatisfy { $0 < 0x80 }
        } ?? utf8.allSatisfy { $0 < 0x80 }
        if isASCII { return self }
        let normal = _nfcCodeUnits
        return normal.elementsEqual(utf8) ? self : String(decoding: normal, as: UTF8.self)
    }
}

extension Optional<String> {
    /// `normalizedKey` of the string, if any.
    package var normalizedKey: String? { map(\.normalizedKey) }
}
