/// Who may have put the objects a session resolves names against.
///
/// Unqualified names resolve through `search_path`, so a function someone
/// else created in `public` can win over the built-in one a statement meant
/// (CVE-2018-1058: `public.pg_advisory_lock(integer)` beats pg_catalog's
/// `bigint` version for an `int4` argument). CallAudit's schemas, `public` and
/// `callaudit_rebuild`, may hold only what the owner (the role that migrates
/// and owns the event tables) or a superuser made; and every session pins `search_path`
/// (`PostgresConnection.pinnedSearchPath`).
package enum SchemaTrust {
    /// An object that neither the owner nor a superuser owns.
    package struct ForeignObject: Sendable, Equatable, CustomStringConvertible {
        package var kind: String
        package var name: String
        package var owner: String

        package var description: String { "\(kind) \(name) (owned by \(owner))" }
    }

    /// Projection tables the service's group role owned before migration 9,
    /// which that migration gives back to the owner.
    private static let tablesOnceOwnedByTheService = [
        "projection_daily_volume", "compliance_calls", "compliance_recordings", "compliance_holds", "compliance_requests",
        "compliance_subject_calls", "compliance_deadlines", "findings", "activity_calls", "activity_recordings",
        "activity_accesses", "activity_holds",
    ]

    /// Functions, operators, types, views and other objects in CallAudit's
    /// schemas owned by a role that is neither the owner of the event tables
    /// (before there are any: the current role) nor a superuser; and any trigger calling such a function, rule or policy on
    /// its tables (CallAudit defines none of the last two). Every name here is
    /// schema-qualified, so the query itself resolves nothing planted.
    package static func foreignObjects(on connection: PostgresConnection) throws -> [ForeignObject] {
        try connection.query(
            """
            WITH trusted AS (
                SELECT oid FROM pg_catalog.pg_roles
                WHERE rolsuper OR oid OPERATOR(pg_catalog.=) coalesce(
                    (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('public.events')),
                    (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user))
            ),
            schemas AS (SELECT oid, nspname FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) ANY ('{public,callaudit_rebuild}'::pg_catalog.name[])),
            found AS (
                SELECT 'function' AS kind, pg_catalog.format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)) AS name, p.proowner AS owner
                FROM pg_catalog.pg_proc p JOIN schemas n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
                UNION ALL
                SELECT 'operator', pg_catalog.format('%I.%s(%s, %s)', n.nspname, o.oprname, pg_catalog.format_type(o.oprleft, NULL), pg_catalog.format_type(o.oprright, NULL)), o.oprowner
                FROM pg_catalog.pg_operator o JOIN schemas n ON n.oid OPERATOR(pg_catalog.=) o.oprnamespace
                UNION ALL
                SELECT 'type', pg_catalog.format('%I.%I', n.nspname, t.typname), t.typowner
                FROM pg_catalog.pg_type t JOIN schemas n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace WHERE t.typtype OPERATOR(pg_catalog.=) ANY ('{b,d,e,r,m}'::pg_catalog."char"[]) AND t.typcategory OPERATOR(pg_catalog.<>) 'A'
                UNION ALL
                SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'composite type' ELSE 'table' END,
                       pg_catalog.format('%I.%I', n.nspname, c.relname), c.relowner
                FROM pg_catalog.pg_class c JOIN schemas n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
                WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{v,m,f,c}'::pg_catalog."char"[])
                   OR (c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}'::pg_catalog."char"[]) AND NOT (n.nspname OPERATOR(pg_catalog.=) 'public' AND c.relname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.name[])))
                UNION ALL
                SELECT 'conversion', pg_catalog.format('%I.%I', n.nspname, v.conname), v.conowner
                FROM pg_catalog.pg_conversion v JOIN schemas n ON n.oid OPERATOR(pg_catalog.=) v.connamespace
                UNION ALL
                SELECT 'collation', pg_catalog.format('%I.%I', n.nspname, l.collname), l.collowner
                FROM pg_catalog.pg_collation l JOIN schemas n ON n.oid OPERATOR(pg_catalog.=) l.collnamespace
                UNION ALL
                SELECT 'operator family', pg_catalog.format('%I.%I', n.nspname, f.opfname), f.opfowner
                FROM pg_catalog.pg_opfamily f JOIN schemas n ON n.oid OPERATOR(pg_catalog.=) f.opfnamespace
                UNION ALL
                SELECT 'trigger', pg_catalog.format('%I on %I.%I', g.tgname, n.nspname, c.relname), p.proowner
                FROM pg_catalog.pg_trigger g JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) g.tgrelid
                JOIN schemas n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) g.tgfoid
                WHERE NOT g.tgisinternal
                UNION ALL
                SELECT 'rule', pg_catalog.format('%I on %I.%I', r.rulename, n.nspname, c.relname), 0::pg_catalog.oid
                FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.ev_class
                JOIN schemas n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace WHERE c.relkind OPERATOR(pg_catalog.<>) 'v'
                UNION ALL
                SELECT 'policy', pg_catalog.format('%I on %I.%I', y.polname, n.nspname, c.relname), 0::pg_catalog.oid
                FROM pg_catalog.pg_policy y JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) y.polrelid
                JOIN schemas n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
            )
            SELECT f.kind, f.name, coalesce(r.rolname, '(nobody: CallAudit defines none)')
            FROM found f LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) f.owner
            WHERE f.owner OPERATOR(pg_catalog.<>) ALL (SELECT oid FROM trusted)
            ORDER BY 1, 2
            """, [.text(postgresArrayLiteral(tablesOnceOwnedByTheService))]
        ).decode((String, String, String).self).map { ForeignObject(kind: $0, name: $1, owner: $2) }
    }

    /// Throws unless CallAudit's schemas hold only trusted objects.
    package static func requireTrustedSchemas(on connection: PostgresConnection) throws {
        let foreign = try foreignObjects(on: connection)
        guard foreign.isEmpty else { throw SchemaTrustError.foreignObjects(foreign) }
    }
}

package enum SchemaTrustError: Error, CustomStringConvertible {
    case foreignObjects([SchemaTrust.ForeignObject])

    package var description: String {
        switch self {
        case .foreignObjects(let objects):
            let listed = objects.prefix(10).map(\.description).joined(separator: "; ")
            let more = objects.count > 10 ? " and \(objects.count - 10) more" : ""
            return """
                refusing to run: CallAudit's schemas (public, callaudit_rebuild) hold objects that neither this role nor a \
                superuser made, which a privileged session could run in place of the built-in ones (CVE-2018-1058): \(listed)\(more). \
                Find out who made them and why, drop them as their owner or a superuser, then run again
                """
        }
    }
}
