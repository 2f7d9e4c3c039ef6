#if canImport(Glibc)
import Glibc
#endif
import CLibPQ

/// A value bound to a statement parameter.
package enum PostgresValue: Sendable, ExpressibleByStringLiteral, ExpressibleByNilLiteral {
    case text(String)
    case bytes([UInt8])
    case null

    package init(stringLiteral value: String) { self = .text(value) }
    package init(nilLiteral: ()) { self = .null }
    package static func int(_ value: some BinaryInteger) -> PostgresValue { .text(String(value)) }
}

/// One libpq connection (`PGconn`), owned and closed by this object.
///
/// `conninfo` is anything libpq accepts (a `postgresql://` URI or `key=value`
/// pairs), and libpq's `PG*` environment variables fill in what it leaves out,
/// as with psql. Calls block, so use it from a dedicated thread or a CLI.
package final class PostgresConnection {
    private let handle: OpaquePointer
    /// Set by libpq's notice receiver: see `confirmReplicated`.
    private let notices = Unmanaged.passRetained(NoticeFlags())

    /// Connects with `conninfo`. `parameters` are libpq keywords placed before
    /// it, so the operator's string overrides them; `session` holds settings
    /// (`SET name = value`) applied once connected.
    package init(conninfo: String, parameters: [(String, String)] = [], session: [(String, String)] = []) throws(PostgresError) {
        try Self.refuseUnparsable(conninfo)
        let keywords = ["fallback_application_name"] + parameters.map(\.0) + ["dbname"]
        let values = ["callaudit"] + parameters.map(\.1) + [conninfo]
        let connection = withCStringArray(keywords) { k in
            withCStringArray(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let connection else { throw PostgresError(kind: .connection, message: "out of memory") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresError(kind: .connection, message: message)
        }
        handle = connection
        // Notices (e.g. "relation already exists, skipping") would go to stderr; they are dropped,
        // except the warning that a commit stopped waiting for its synchronous standby.
        PQsetNoticeReceiver(connection, { context, result in
            guard let context, let result else { return }
            Unmanaged<NoticeFlags>.fromOpaque(context).takeUnretainedValue().note(result)
        }, notices.toOpaque())
        try execute((Self.pinnedSettings + session).map { "SET \($0.0) = \($0.1)" }.joined(separator: "; "))
    }

    /// libpq's own parse errors quote the piece they stumbled on, which can be the
    /// password ("invalid percent-encoded token: \"…\""): such a URL is refused
    /// with a message of ours, which never repeats any of it.
    private static func refuseUnparsable(_ conninfo: String) throws(PostgresError) {
        var message: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(conninfo, &message) {
            PQconninfoFree(options)
            return
        }
        if let message { PQfreemem(message) }
        throw PostgresError(
            kind: .connection,
            message: "the database URL cannot be parsed: check its syntax (percent-encode reserved characters in the user name and password)")
    }

    /// The `search_path` every session runs under, whatever the role's or the
    /// database's default: pg_catalog is searched first (implicitly, so that
    /// `public` stays the schema objects are created in), then `public`, and
    /// the session's own temporary tables last, never before either.
    package static let pinnedSearchPath = "public, pg_temp"
    /// `bytea_output` too: a role or database default of `escape` (which any role may set for
    /// itself) would otherwise change how every bytea column reads back. And the default
    /// isolation: the vault's functions refuse anything but READ COMMITTED (migration 14),
    /// and a role default of REPEATABLE READ would make every link and erasure fail.
    private static let pinnedSettings = [
        ("search_path", pinnedSearchPath), ("bytea_output", "hex"), ("default_transaction_isolation", "'read committed'"),
        // Text goes to and from the server as the UTF-8 it is: under another client encoding
        // (a role's or database's default) the server would convert what the binary COPY and
        // reads carry, storing an event's text double-encoded, no longer matching its hash.
        ("client_encoding", "'UTF8'"),
    ]

    deinit {
        PQfinish(handle)
        notices.release()
    }

    package var isHealthy: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Something another thread can use to cancel the statement this connection is running.
    package func makeCanceller() -> PostgresCanceller? { PQgetCancel(handle).map(PostgresCanceller.init) }

    /// Server-side process id, for logs and for tests that terminate backends.
    package var backendPID: Int32 { PQbackendPID(handle) }

    /// Runs one statement with parameters (text results).
    @discardableResult
    package func query(_ sql: String, _ parameters: [PostgresValue] = []) throws(PostgresError) -> PostgresRows {
        try refuseNUL(in: parameters)
        forgetNotices()
        let result = withParameters(parameters) { values, lengths, formats in
            PQexecParams(handle, sql, Int32(parameters.count), nil, values, lengths, formats, 0)
        }
        let rows = try PostgresRows(checking: result, connection: handle)
        try confirmReplicated()
        return rows
    }

    /// The first column of the first row as raw bytes, read in binary format:
    /// for large `bytea` values, which text format would send as hex, twice the size.
    package func bytes(_ sql: String, _ parameters: [PostgresValue] = []) throws(PostgresError) -> [UInt8]? {
        try refuseNUL(in: parameters)
        let result = try PostgresRows.check(
            withParameters(parameters) { values, lengths, formats in
                PQexecParams(handle, sql, Int32(parameters.count), nil, values, lengths, formats, 1)
            }, connection: handle)
        defer { PQclear(result) }
        guard PQntuples(result) > 0, PQgetisnull(result, 0, 0) == 0, let value = PQgetvalue(result, 0, 0) else { return nil }
        return Array(UnsafeRawBufferPointer(start: value, count: Int(PQgetlength(result, 0, 0))))
    }

    /// Runs one statement and hands `body` each row straight from libpq's
    /// buffers, for large reads: nothing is copied that `body` does not take.
    /// `binary` asks for every column in PostgreSQL's binary format (read with
    /// `bytes` and `bigEndian`): no text to parse for hashes and integers.
    package func forEachRow(
        _ sql: String, _ parameters: [PostgresValue] = [], binary: Bool = false, _ body: (PostgresRow) throws -> Void
    ) throws {
        try refuseNUL(in: parameters)
        let result = try PostgresRows.check(
            withParameters(parameters) { values, lengths, formats in
                PQexecParams(handle, sql, Int32(parameters.count), nil, values, lengths, formats, binary ? 1 : 0)
            }, connection: handle)
        defer { PQclear(result) }
        for row in 0..<PQntuples(result) { try body(PostgresRow(result: result, row: row)) }
    }

    /// Runs one or more statements without parameters (migrations, transaction control).
    package func execute(_ sql: String) throws(PostgresError) {
        forgetNotices()
        _ = try PostgresRows(checking: PQexec(handle, sql), connection: handle)
        try confirmReplicated()
    }

    /// Throws when the statement just run committed without the confirmation it waited for.
    ///
    /// With `synchronous_standby_names` set, a commit waits for a standby; a cancel (the
    /// statement timeout, a shutdown) ends the wait and PostgreSQL then reports success with
    /// only a WARNING: the transaction is committed on this server but a failover could lose
    /// it. Such a commit must not be acknowledged as durable, so it fails here as transient
    /// (57014, the cancel it was): the API answers 503, a command exits non-zero, and a service
    /// retries its round. Only CallAudit's own records wait for a standby at all.
    /// Only a warning raised by the statement about to run may count against it: an earlier
    /// statement's (e.g. pg_terminate_backend's "not a PostgreSQL backend process", also 01000)
    /// must not make a later commit look unconfirmed.
    private func forgetNotices() { _ = notices.takeUnretainedValue().takeUnconfirmedCommit() }

    private func confirmReplicated() throws(PostgresError) {
        guard notices.takeUnretainedValue().takeUnconfirmedCommit(), PQtransactionStatus(handle) == PQTRANS_IDLE else { return }
        throw PostgresError(kind: .server(sqlState: "57014"), message: PostgresError.unconfirmedCommitMessage)
    }

    /// `COPY ... FROM STDIN` with the given payload in COPY text format.
    package func copyIn(_ sql: String, payload: [UInt8]) throws(PostgresError) {
        var failure: PostgresError?
        payload.withUnsafeBytes { bytes in
            do throws(PostgresError) { try copyIn(sql, bytes: bytes) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// `copyIn` from bytes where they lie (the writer's rows, in its encoder's memory).
    package func copyIn(_ sql: String, bytes payload: UnsafeRawBufferPointer) throws(PostgresError) {
        try startCopy(sql)
        guard send(payload) else { throw connectionError() }
        try endCopy(abortingWith: nil)
    }

    /// `COPY ... FROM STDIN` of the slices `next` gives until it gives nil,
    /// each sent as it comes: the server parses one while the caller's
    /// producer makes the next, instead of waiting for a whole payload. A
    /// slice need not end at a row's end. If `next` throws (or a slice cannot
    /// be sent), the COPY is aborted, nothing of it kept, and that error
    /// rethrown, unless the server had refused a row before: then the refusal.
    package func copyIn(_ sql: String, slices next: () throws -> [UInt8]?) throws {
        try startCopy(sql)
        do {
            while let slice = try next() {
                guard slice.withUnsafeBytes(send) else { throw connectionError() }
            }
        } catch {
            var ended: PostgresError?
            do { try endCopy(abortingWith: Self.copyAbortReason) } catch { ended = error }
            // The server had refused a row before the client stopped: that is the cause.
            if let ended, ended.sqlState != Self.copyAbortedState { throw ended }
            throw error
        }
        try endCopy(abortingWith: nil)
    }

    private static let copyAbortReason = "the client's rows could not be made"
    /// What PostgreSQL answers a COPY the client ended with an error (query_canceled).
    private static let copyAbortedState = "57014"

    private func startCopy(_ sql: String) throws(PostgresError) {
        let start = PQexec(handle, sql)
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            _ = try PostgresRows(checking: start, connection: handle)
            throw PostgresError(kind: .client, message: "COPY did not enter COPY IN state")
        }
        PQclear(start)
    }

    /// Ends the COPY (failed with `reason`, if given) and reads its results.
    private func endCopy(abortingWith reason: String?) throws(PostgresError) {
        guard PQputCopyEnd(handle, reason) == 1 else { throw connectionError() }
        var failure: PostgresError?
        while let result = PQgetResult(handle) {
            do { _ = try PostgresRows(checking: result, connection: handle) } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    private func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var offset = 0
        let chunk = 1 << 20
        while offset < bytes.count {
            let length = min(chunk, bytes.count - offset)
            guard PQputCopyData(handle, (base + offset).assumingMemoryBound(to: CChar.self), Int32(length)) == 1 else { return false }
            offset += length
        }
        return true
    }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws.
    package func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if isHealthy { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Runs `body` under a savepoint: released if it returns, rolled back to
    /// (leaving the transaction usable) if it throws.
    package func savepoint<T>(_ name: String, _ body: () throws -> T) throws -> T {
        try execute("SAVEPOINT \(name)")
        do {
            let value = try body()
            try execute("RELEASE SAVEPOINT \(name)")
            return value
        } catch {
            if isHealthy { try? execute("ROLLBACK TO SAVEPOINT \(name)") }
            throw error
        }
    }

    /// Waits until a notification arrives on a channel this connection LISTENs
    /// to, or the timeout passes. Returns whether any arrived (and consumes them).
    package func waitForNotification(timeoutMilliseconds: Int32) throws(PostgresError) -> Bool {
        if drainNotifications() { return true }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        guard descriptor.fd >= 0 else { throw connectionError() }
        let ready = poll(&descriptor, 1, timeoutMilliseconds)
        if ready > 0, PQconsumeInput(handle) == 0 { throw connectionError() }
        return drainNotifications()
    }

    private func drainNotifications() -> Bool {
        var any = false
        while let notification = PQnotifies(handle) {
            PQfreemem(notification)
            any = true
        }
        return any
    }

    private func connectionError() -> PostgresError {
        PostgresError(kind: .connection, message: String(cString: PQerrorMessage(handle)))
    }
}

/// Cancels whatever statement its connection is running; safe from any thread (libpq's `PGcancel`).
package final class PostgresCanceller: @unchecked Sendable {
    private let handle: OpaquePointer

    fileprivate init(_ handle: OpaquePointer) { self.handle = handle }

    deinit { PQfreeCancel(handle) }

    /// Asks the server to cancel the running statement, which then fails with 57014.
    package func cancel() {
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(handle, &buffer, Int32(buffer.count))
    }
}

/// The rows of a statement's result, copied out of libpq.
package struct PostgresRows: Sendable, Sequence {
    package let columns: [String]
    package let rows: [[String?]]
    /// The command tag's row count (INSERT 0 5 → 5).
    package let affectedRows: Int

    init(checking result: OpaquePointer?, connection: OpaquePointer) throws(PostgresError) {
        let result = try Self.check(result, connection: connection)
        defer { PQclear(result) }
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        rows = (0..<rowCount).map { row in
            (0..<columnCount).map { column in
                PQgetisnull(result, Int32(row), Int32(column)) == 1
                    ? nil : String(cString: PQgetvalue(result, Int32(row), Int32(column)))
            }
        }
        affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    /// The result if the statement succeeded; otherwise frees it and throws the server's error.
    static func check(_ result: OpaquePointer?, connection: OpaquePointer) throws(PostgresError) -> OpaquePointer {
        guard let result else {
            throw PostgresError(kind: .connection, message: String(cString: PQerrorMessage(connection)))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            break
        default:
            defer { PQclear(result) }
            func field(_ code: Character) -> String? {
                PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
            }
            if let state = field("C") {
                let context = field("W") ?? ""
                let diagnostics = [("DETAIL", field("D")), ("HINT", field("H")), ("CONTEXT", field("W"))]
                    .compactMap { name, value in value.map { "\(name): \($0)" } }.joined(separator: "\n")
                throw PostgresError(
                    kind: .server(sqlState: state), message: field("M") ?? "", diagnostics: diagnostics,
                    copyLine: PostgresError.copyLine(inContext: context))
            }
            var message = String(cString: PQresultErrorMessage(result))
            if message.isEmpty { message = String(cString: PQerrorMessage(connection)) }
            // A write to a socket the server closed fails before libpq marks the connection bad.
            let lost = PQstatus(connection) != CONNECTION_OK || Self.connectionLostMessages.contains { message.contains($0) }
            throw PostgresError(kind: lost ? .connection : .client, message: message)
        }
        return result
    }

    /// libpq's words for a session that is gone (fe-misc.c, fe-secure.c).
    static let connectionLostMessages = [
        "server closed the connection unexpectedly", "no connection to the server", "could not send data to server",
        "could not receive data from server", "connection not open",
    ]

    package func makeIterator() -> IndexingIterator<[[String?]]> { rows.makeIterator() }

    package var count: Int { rows.count }

    /// The first column of the first row.
    package var scalar: String? { rows.first?.first ?? nil }
}

private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicates = strings.map { strdup($0) }
    defer { duplicates.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = duplicates.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Text parameters travel as C strings, which a NUL would cut short without
/// a word: refused instead, as PostgreSQL refuses NUL in text (22021), so the
/// caller treats it as the bad input it is.
private func refuseNUL(in parameters: [PostgresValue]) throws(PostgresError) {
    for case .text(let text) in parameters where text.containsNUL {
        throw PostgresError(kind: .server(sqlState: "22021"), message: "a text value contains a NUL character, which PostgreSQL's text cannot hold")
    }
}

private func withParameters<R>(
    _ parameters: [PostgresValue],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R
) -> R {
    var storage: [UnsafeMutablePointer<CChar>?] = []
    var lengths: [Int32] = []
    var formats: [Int32] = []
    for parameter in parameters {
        switch parameter {
        case .text(let text):
            storage.append(strdup(text))
            lengths.append(0)
            formats.append(0)
        case .bytes(let bytes):
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBytes { raw in
                if let base = raw.baseAddress { UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: raw.count) }
            }
            storage.append(buffer)
            lengths.append(Int32(bytes.count))
            formats.append(1)
        case .null:
            storage.append(nil)
            lengths.append(0)
            formats.append(0)
        }
    }
    defer {
        for (pointer, parameter) in zip(storage, parameters) {
            if case .bytes = parameter { pointer?.deallocate() } else { free(pointer) }
        }
    }
    let values: [UnsafePointer<CChar>?] = storage.map { $0.map { UnsafePointer($0) } }
    return values.withUnsafeBufferPointer { v in
        lengths.withUnsafeBufferPointer { l in
            formats.withUnsafeBufferPointer { f in body(v.baseAddress, l.baseAddress, f.baseAddress) }
        }
    }
}

/// One row of a result, valid only inside the `forEachRow` call that gave it.
package struct PostgresRow {
    fileprivate let result: OpaquePointer
    fileprivate let row: Int32

    package func isNull(_ column: Int) -> Bool { PQgetisnull(result, row, Int32(column)) == 1 }

    /// The column's name, as the result names it (for errors).
    package func columnName(_ column: Int) -> String { String(cString: PQfname(result, Int32(column))) }

    /// The row copied out as text, for a typed `decode` (text results only).
    package var text: PostgresTextRow {
        let columns = (0..<PQnfields(result)).map { String(cString: PQfname(result, $0)) }
        return PostgresTextRow(columns: columns, values: columns.indices.map(string))
    }

    package func string(_ column: Int) -> String? {
        isNull(column) ? nil : String(cString: PQgetvalue(result, row, Int32(column)))
    }

    /// A column's bytes as libpq holds them (binary results: the type's binary form).
    package func bytes(_ column: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: PQgetvalue(result, row, Int32(column)), count: Int(PQgetlength(result, row, Int32(column))))
    }

    /// An 8-byte column of a binary result (bigint, xid8) as an unsigned integer.
    package func bigEndian(_ column: Int) -> UInt64? {
        guard !isNull(column) else { return nil }
        let raw = bytes(column)
        guard raw.count == 8 else { return nil }
        // One unaligned load and a byte swap: folding the bytes one by one cost
        // about 170 instructions a column, on every row a rebuild reads.
        return UInt64(bigEndian: raw.loadUnaligned(as: UInt64.self))
    }

    /// A column of an integer type, parsed without making a string first.
    package func int64(_ column: Int) -> Int64? {
        guard !isNull(column), var digit = PQgetvalue(result, row, Int32(column)) else { return nil }
        let negative = digit.pointee == UInt8(ascii: "-")
        if negative { digit += 1 }
        var value: Int64 = 0
        while case let c = UInt8(bitPattern: digit.pointee), c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
            value = value * 10 + Int64(c - UInt8(ascii: "0"))
            digit += 1
        }
        return negative ? -value : value
    }
}

extension PostgresConnection {
    /// A connection handed between threads, one at a time: whoever holds the
    /// handle is its only user (a pool's idle list, then one worker thread).
    package final class Handle: @unchecked Sendable {
        package let connection: PostgresConnection

        package init(_ connection: PostgresConnection) { self.connection = connection }
    }
}

/// What libpq's notice receiver saw, for the connection that owns it.
private final class NoticeFlags: @unchecked Sendable {
    private var unconfirmedCommit = false

    /// A WARNING raised from syncrep.c is what PostgreSQL sends when a commit's wait for a
    /// synchronous standby is cancelled ("canceling wait for synchronous replication"). Its
    /// SQLSTATE is the generic 01000 that other warnings share (pg_terminate_backend of a pid
    /// that is gone, for one), and its text may be translated; the source file is neither.
    func note(_ result: OpaquePointer) {
        func field(_ code: Character) -> String? {
            PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
        }
        if field("V") == "WARNING", field("F") == "syncrep.c" { unconfirmedCommit = true }
    }

    func takeUnconfirmedCommit() -> Bool {
        defer { unconfirmedCommit = false }
        return unconfirmedCommit
    }
}
