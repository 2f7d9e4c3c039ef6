import CallAuditStore

/// The one query layer the CLI and the HTTP API read through: findings,
/// what the store holds, projection status and dead letters. The SQL for each
/// lives in its own file; callers get typed rows and never write SQL.
package struct ReadSide {
    package let connection: PostgresConnection

    package init(connection: PostgresConnection) {
        self.connection = connection
    }
}
