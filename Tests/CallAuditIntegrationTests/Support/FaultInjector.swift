import CallAuditStore
import Foundation

/// Faults injected into a test database: a trigger that raises a chosen
/// SQLSTATE on insert into a table, for a while, optionally only for one event id.
struct FaultInjector {
    let database: TestDatabase

    /// Installs the trigger on `table` (it does nothing until `inject`).
    func arm(_ table: String, eventIDColumn: String? = "event_id") throws {
        let owner = try database.owner()
        try owner.execute(
            """
            CREATE TABLE IF NOT EXISTS test_faults (target text PRIMARY KEY, sqlstate text NOT NULL, until timestamptz, event_id text);
            GRANT SELECT ON test_faults TO PUBLIC;
            """)
        let match = eventIDColumn.map { "f.event_id IS NULL OR to_jsonb(NEW) ->> '\($0)' = f.event_id" } ?? "true"
        try owner.execute(
            """
            CREATE OR REPLACE FUNCTION test_fault_\(table)() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE f test_faults;
            BEGIN
                SELECT * INTO f FROM test_faults WHERE target = TG_TABLE_NAME;
                IF FOUND AND (f.until IS NULL OR clock_timestamp() < f.until) AND (\(match)) THEN
                    RAISE EXCEPTION 'injected fault' USING ERRCODE = f.sqlstate, DETAIL = 'a row value: +4930123456';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_fault BEFORE INSERT OR UPDATE ON \(table) FOR EACH ROW EXECUTE FUNCTION test_fault_\(table)();
            """)
    }

    /// Makes inserts into `table` fail with `sqlState` for `seconds` (nil: until cleared), or only for one event id.
    func inject(_ sqlState: String, into table: String, for seconds: Double? = nil, eventID: String? = nil) throws {
        try database.owner().query(
            """
            INSERT INTO test_faults (target, sqlstate, until, event_id)
            VALUES ($1, $2, clock_timestamp() + $3::double precision * interval '1 second', $4)
            ON CONFLICT (target) DO UPDATE SET sqlstate = excluded.sqlstate, until = excluded.until, event_id = excluded.event_id
            """, [.text(table), .text(sqlState), seconds.map { .text(String($0)) } ?? .null, eventID.map { .text($0) } ?? .null])
    }

    func clear(_ table: String) throws {
        try database.owner().query("DELETE FROM test_faults WHERE target = $1", [.text(table)])
    }
}
