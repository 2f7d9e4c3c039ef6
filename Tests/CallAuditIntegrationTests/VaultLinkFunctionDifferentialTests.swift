import CallAuditDomain
import CallAuditStore
import Testing

extension DatabaseTests {
/// Migration 15 computes the link function's checks more cheaply; what the
/// function accepts, refuses (with which SQLSTATE) and writes must be migration
/// 14's, call for call. The same calls go to a database migrated through 14 and
/// to one migrated through 15, as the service role, each in its own transaction.
@Suite("The link function of migration 15 against migration 14's")
struct VaultLinkFunctionDifferentialTests {
    /// A blind index: 32 bytes of `byte`.
    static func index(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: 32) }

    struct Call {
        var refs: [String] = []
        var links: [(index: UInt8, ref: String, kind: String)] = []
        var kinds: [String]? = nil
        var kek: String? = "k1"
    }

    /// Valid calls that make persons, share phones and race strong ids, and malformed ones.
    static let calls: [Call] = [
        Call(refs: ["sub_a", "sub_b"], links: [(1, "sub_a", "phone"), (2, "sub_a", "email"), (3, "sub_a", "customer_id"), (4, "sub_b", "phone")]),
        // A phone seen with a second person becomes shared; linked again to the same person it is skipped.
        Call(refs: ["sub_c"], links: [(1, "sub_c", "phone"), (2, "sub_a", "email")]),
        // One phone for two persons of one call.
        Call(refs: ["sub_d", "sub_e"], links: [(5, "sub_d", "phone"), (5, "sub_e", "phone")]),
        // A customer id another person holds; a second customer id for a person who has one.
        Call(refs: ["sub_f"], links: [(3, "sub_f", "customer_id")]),
        Call(links: [(6, "sub_a", "customer_id")]),
        Call(links: [(7, "sub_b", "employee_id"), (8, "sub_b", "email")]),
        // A person nobody made; the same link twice in one call.
        Call(links: [(9, "sub_nobody", "phone")]),
        Call(refs: ["sub_g"], links: [(10, "sub_g", "phone"), (10, "sub_g", "phone")]),
        // Malformed: a customer id for two persons, two of a kind for one, an unknown kind, a NULL kind,
        // lengths that differ, new persons without a KEK id.
        Call(refs: ["sub_h", "sub_i"], links: [(11, "sub_h", "customer_id"), (11, "sub_i", "customer_id")]),
        Call(refs: ["sub_h"], links: [(11, "sub_h", "customer_id"), (12, "sub_h", "customer_id")]),
        Call(refs: ["sub_h"], links: [(11, "sub_h", "customer_id"), (11, "sub_h", "employee_id")]),
        Call(refs: ["sub_h"], links: [(13, "sub_h", "fax")]),
        Call(refs: ["sub_h"], links: [(13, "sub_h", "phone")], kinds: ["NULL"]),
        Call(refs: ["sub_h"], links: [(13, "sub_h", "phone")], kinds: []),
        Call(refs: ["sub_h"], links: [(13, "sub_h", "phone")], kek: nil),
        Call(refs: ["sub_h"], links: [(13, "sub_h", "phone"), (14, "sub_h", "customer_id")]),
    ]

    static func sql(_ call: Call) -> String {
        func list(_ values: [String]) -> String { "'{" + values.joined(separator: ",") + "}'" }
        func bytes(_ values: [UInt8]) -> String { "'{" + values.map { "\"\\\\x" + index($0).hexString + "\"" }.joined(separator: ",") + "}'" }
        let wrapped = "'{" + call.refs.map { _ in "\"\\\\x00\"" }.joined(separator: ",") + "}'"
        return """
            SELECT callaudit_link_subjects(\(list(call.refs))::text[], \(wrapped)::bytea[], \(call.kek.map { "'\($0)'" } ?? "NULL"),
                \(bytes(call.links.map(\.index)))::bytea[], \(list(call.links.map(\.ref)))::text[], \(list(call.kinds ?? call.links.map(\.kind)))::text[])
            """
    }

    /// Each call's SQLSTATE ("" when it succeeded), then the vault's rows.
    static func outcome(through version: Int?) throws -> [String] {
        let database = try TestDatabase.create(throughVersion: version)
        defer { database.drop() }
        let service = try PostgresConnection(conninfo: database.serviceURL)
        var states: [String] = []
        for call in calls {
            do {
                try service.execute(sql(call))
                states.append("")
            } catch {
                states.append(error.sqlState ?? "\(error)")
            }
        }
        let owner = try database.owner()
        let rows = try owner.query(
            """
            SELECT 'link ' || encode(blind_index, 'hex') || ' ' || subject_ref || ' ' || kind FROM subject_index
            UNION ALL SELECT 'person ' || subject_ref || ' ' || coalesce(kek_id, '-') FROM subjects
            UNION ALL SELECT 'shared ' || encode(blind_index, 'hex') FROM shared_identifiers
            UNION ALL SELECT 'epoch ' || erasures || ' ' || relinks FROM vault_epoch
            ORDER BY 1
            """
        ).decode(String.self)
        return states + rows
    }

    @Test("every call is accepted or refused as by migration 14, with the same SQLSTATE, and leaves the same rows")
    func sameOutcomeAsMigration14() throws {
        let before = try Self.outcome(through: 14)
        let after = try Self.outcome(through: nil)
        #expect(after == before)
        // The calls exercise each path: successes, serialization failures and refused arguments.
        #expect(Set(before.prefix(Self.calls.count)) == ["", "40001", "22023"])
    }

    @Test("migration 15's function keeps every probe an index scan: sequential and bitmap scans off, search_path pinned first")
    func functionSettings() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let config = try database.owner().query(
            "SELECT array_to_string(proconfig, ';') FROM pg_proc WHERE proname = 'callaudit_link_subjects'"
        ).decodeScalar(String.self)
        #expect(config == "search_path=pg_catalog, pg_temp;enable_seqscan=off;enable_bitmapscan=off")
    }
}
}
