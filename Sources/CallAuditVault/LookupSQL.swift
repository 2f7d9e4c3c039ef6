/// The statements `SubjectVault.lookUp` reads persons with. Both return the
/// vault's epoch (one row of `vault_epoch`) in their first three columns, and
/// `LookupRow`'s other six.
enum LookupSQL {
    /// What blind indexes `$1` name: each live person holding one (with their
    /// wrapped key), the shared ones, and the strong identifiers of the persons
    /// found, from the blind indexes their row lists, each probed by
    /// `subject_index`'s primary key (it has no index by person). With nothing
    /// found, the epoch still comes, joined to nothing.
    static let links = """
            WITH links AS (
                SELECT i.blind_index, i.subject_ref, i.kind, s.kek_id, s.wrapped_key, s.blind_indexes
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
                -- A found person's strong identifiers: each index their row lists, probed by the
                -- whole primary key (one row at most, so always by the index).
                SELECT 'strong', h.b, h.subject_ref, h.kind, NULL, NULL FROM (
                    SELECT held.b, p.subject_ref,
                           (SELECT i.kind FROM subject_index i WHERE i.blind_index = held.b AND i.subject_ref = p.subject_ref) AS kind
                    FROM (SELECT DISTINCT subject_ref, blind_indexes FROM links) p CROSS JOIN LATERAL unnest(p.blind_indexes) AS held(b)
                    OFFSET 0
                ) h WHERE h.kind IN ('customer_id', 'employee_id')
            ) x ON true
        """

    /// The epoch alone, for a batch whose identifiers are all cached.
    static let epoch = "SELECT erasures, relinks, kek_current, NULL, NULL, NULL, NULL, NULL, NULL FROM vault_epoch"
}
