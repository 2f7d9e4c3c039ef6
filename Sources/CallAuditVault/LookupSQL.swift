/// The vault's lookup statements. Both return rows of `LookupRow.Columns`:
/// the vault's epoch on every row, and one thing found per row (or none).
enum LookupSQL {
    /// What these blind indexes (`$1`, a `bytea[]`) name: each live person
    /// holding one, with their wrapped key; the ones that are shared; and the
    /// strong identifiers of the persons found (probes of `subject_index`'s
    /// `(subject_ref, kind)` index, whatever else those persons hold).
    static let links = """
        WITH links AS (
            SELECT i.blind_index, i.subject_ref, i.kind, s.kek_id, s.wrapped_key
            FROM subject_index i JOIN subjects s USING (subject_ref)
            WHERE i.blind_index = ANY($1::bytea[]) AND s.erased_at IS NULL
        )
        SELECT e.erasures, e.relinks, e.kek_current, x.what, encode(x.blind_index, 'hex'), x.subject_ref, x.kind, x.kek_id,
               encode(x.wrapped_key, 'hex')
        FROM vault_epoch e LEFT JOIN LATERAL (
            SELECT 'link' AS what, l.blind_index, l.subject_ref, l.kind, l.kek_id, l.wrapped_key FROM links l
            UNION ALL
            SELECT 'shared', h.blind_index, NULL, NULL, NULL, NULL FROM shared_identifiers h WHERE h.blind_index = ANY($1::bytea[])
            UNION ALL
            SELECT 'strong', i.blind_index, i.subject_ref, i.kind, NULL, NULL FROM subject_index i
            WHERE i.subject_ref IN (SELECT subject_ref FROM links) AND i.kind IN ('customer_id', 'employee_id')
        ) x ON true
        """

    /// Only the epoch: for a batch whose identifiers are all cached.
    static let epoch = """
        SELECT erasures, relinks, kek_current, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text FROM vault_epoch
        """
}
