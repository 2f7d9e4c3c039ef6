import CallAuditStore
import Testing

extension DatabaseTests {
    /// The libpq wrapper's reading of server notices.
    @Suite("PostgreSQL sessions")
    struct PostgresConnectionTests {
        @Test("a warning that is not a cancelled standby wait (pg_terminate_backend's, also SQLSTATE 01000) makes no statement, then or later, look like an unconfirmed commit")
        func earlierWarningIsNotCarriedOver() throws {
            let session = try PostgresConnection(conninfo: TestDatabase.adminURL)
            // pg_terminate_backend of a pid that is no backend warns with 01000, the code a cancelled
            // synchronous-replication wait also uses; the readiness test met it when a backend ended first.
            let terminated = try session.query("SELECT pg_catalog.pg_terminate_backend(2147483647)::text").decodeScalar(Bool.self)
            #expect(terminated == false)
            try session.execute("SELECT 1")
            try session.execute("BEGIN; SELECT 1; COMMIT")
        }

        @Test("a role or database default of bytea_output = escape, which any role may set for itself, changes no bytea the service reads")
        func byteaReadsAsHexWhateverTheDefaults() throws {
            let database = try TestDatabase.create()
            defer { database.drop() }
            try database.owner().execute("ALTER DATABASE \(database.name) SET bytea_output = 'escape'")
            try database.owner().execute("ALTER ROLE callaudit_service IN DATABASE \(database.name) SET bytea_output = 'escape'")
            let session = try PostgresConnection(conninfo: database.serviceURL)
            #expect(try session.query("SELECT '\\x00ff0a'::bytea").decodeScalar([UInt8].self) == [0x00, 0xFF, 0x0A])
        }
    }
}
