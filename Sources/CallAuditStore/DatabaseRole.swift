/// The role a session runs as, and whether it holds more than the service needs.
///
/// The service needs only what `callaudit_writer` grants. A superuser, or a
/// role that owns the event tables (or can act as their owner), could switch
/// the append-only triggers off: `serve` refuses to run as one unless told
/// this is a development setup.
package struct DatabaseRole: Sendable, Equatable {
    package var name: String
    package var isSuperuser: Bool
    /// May create roles: in PostgreSQL 15 that includes granting itself any non-superuser role, the owner's among them.
    package var canCreateRoles: Bool
    /// Owns `events`, or is a member of the role that does.
    package var ownsEventTables: Bool

    package var isPrivileged: Bool { isSuperuser || canCreateRoles || ownsEventTables }

    package static func current(on connection: PostgresConnection) throws -> DatabaseRole {
        let row = try connection.query(
            """
            SELECT r.rolname, r.rolsuper::text, r.rolcreaterole::text,
                   coalesce(pg_catalog.pg_has_role(r.oid, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass('public.events')), 'MEMBER'), false)::text
            FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user
            """
        ).decodeFirst((String, Bool, Bool, Bool).self)
        guard let (name, superuser, createsRoles, ownsEvents) = row else {
            throw PostgresDecodingError(reason: .noRow, column: "", expected: "current role")
        }
        return DatabaseRole(name: name, isSuperuser: superuser, canCreateRoles: createsRoles, ownsEventTables: ownsEvents)
    }

    /// Why this role should not run the service; nil when it may.
    package var refusal: String? {
        guard isPrivileged else { return nil }
        let what = isSuperuser ? "a superuser" : ownsEventTables ? "the owner of the event tables" : "allowed to create roles (and so to make itself the owner)"
        return """
            PostgreSQL role \(name) is \(what): whoever held this credential could switch off the append-only triggers \
            and rewrite the log. Run serve as a login role in callaudit_writer (CREATE ROLE callaudit_service LOGIN IN ROLE \
            callaudit_writer), keep the owner's credential for `callaudit migrate`; --allow-privileged-role permits it in development
            """
    }
}
