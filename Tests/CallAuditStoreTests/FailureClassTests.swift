import Testing

@testable import CallAuditStore

@Suite("One failure classifier for ingest and projections")
struct FailureClassTests {
    @Test(
        "locks, deadlocks, serialization failures, full disks, cancels and I/O errors are transient: retry the same work on the same session",
        arguments: ["55P03", "40001", "40P01", "53100", "53200", "57014", "58030", "55006"])
    func transientOnTheSameSession(state: String) {
        #expect(PostgresError(kind: .server(sqlState: state), message: "m").failureClass == .transient(reconnect: false))
    }

    @Test(
        "a lost or read-only session is transient on a new one (failover, restart, admin shutdown)",
        arguments: ["08006", "08003", "57P01", "57P02", "57P03", "25006", "25P03"])
    func transientOnANewSession(state: String) {
        #expect(PostgresError(kind: .server(sqlState: state), message: "m").failureClass == .transient(reconnect: true))
        #expect(PostgresError(kind: .connection, message: "m").failureClass == .transient(reconnect: true))
    }

    @Test("values the server refuses are bad input: the event, not the service", arguments: ["22021", "22P02", "23514", "54000"])
    func badInput(state: String) {
        #expect(PostgresError(kind: .server(sqlState: state), message: "m").failureClass == .badInput)
    }

    @Test("privileges, schema, credentials and unknown states are fatal, each with what to fix")
    func fatal() {
        let cases = [("42501", "privilege"), ("42P01", "callaudit migrate"), ("28P01", "password"), ("3D000", "database URL"), ("P0001", "P0001")]
        for (state, says) in cases {
            guard case .fatal(let remedy) = PostgresError(kind: .server(sqlState: state), message: "m").failureClass else {
                Issue.record("\(state) is not fatal")
                continue
            }
            #expect(remedy.contains(says), "\(state): \(remedy)")
        }
        #expect(FailureClass(of: PostgresError(kind: .client, message: "m")) != .badInput)
    }

    @Test("errors that are not PostgreSQL's come from handling the input: bad input")
    func otherErrorsAreBadInput() {
        struct FoldFailed: Error {}
        #expect(FailureClass(of: FoldFailed()) == .badInput)
    }

    @Test("the text that reaches logs and tables is the primary message; DETAIL and CONTEXT only in debugDescription")
    func descriptionIsThePrimaryMessage() {
        let error = PostgresError(
            kind: .server(sqlState: "55P03"), message: "could not obtain lock on relation \"events\"",
            diagnostics: "DETAIL: Key (phone)=(+4930123456) already exists.\nCONTEXT: COPY events, line 7, column event: \"{...}\"",
            copyLine: 7)
        #expect(error.description == "PostgreSQL error 55P03: could not obtain lock on relation \"events\"")
        #expect(error.debugDescription.contains("+4930123456"))
        let data = PostgresError(kind: .server(sqlState: "22P02"), message: "invalid input syntax for type integer: \"+4930123456\"")
        #expect(!data.description.contains("+4930123456"), "data errors can quote a value even in the primary message")
    }

    @Test("the COPY line the server blames is read from CONTEXT, also under a trigger's own context")
    func copyLine() {
        #expect(PostgresError.copyLine(inContext: "COPY events, line 42, column event: \"x\"") == 42)
        #expect(PostgresError.copyLine(inContext: "PL/pgSQL function f() line 5 at RAISE\nCOPY events, line 3") == 3)
        #expect(PostgresError.copyLine(inContext: "SQL statement \"INSERT INTO events SELECT …\"") == nil)
    }

    @Test("backoff doubles from 100 ms up to its cap")
    func backoff() {
        var backoff = Backoff(maximum: .milliseconds(500))
        #expect((0..<5).map { _ in backoff.step() } == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), .milliseconds(500)])
    }
}
