import CallAuditAPI
import CallAuditDomain
import CallAuditStore
import Logging
import ServiceLifecycle
import Testing

extension DatabaseTests {
/// The API's resources are services: the composition root's group stops them
/// (after the API, which comes later in the group), so nothing is left running.
@Suite("API resources stopped by the service group")
struct APIResourceLifecycleTests {
    /// Says when the group has started, so its shutdown is not triggered before it runs.
    struct Started: Service {
        let started: AsyncStream<Void>.Continuation
        func run() async throws {
            started.yield()
            try? await gracefulShutdown()
        }
    }

    @Test("graceful shutdown ends the session pool (no more work) and the read recorder (queued reads recorded, later ones refused 503)")
    func groupStopsPoolAndRecorder() async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let configuration = DatabaseConfiguration(url: database.serviceURL)
        let pool = DatabasePool(database: configuration, size: 2)
        let recorder = ReadRecorder(database: configuration, logger: quietLogger)
        let (started, starting) = AsyncStream<Void>.makeStream()
        let group = ServiceGroup(services: [pool, recorder, Started(started: starting)], logger: quietLogger)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for await _ in started { break }
            #expect(try await pool.withConnection { try $0.query("SELECT 1").scalar } == "1")
            try await recorder.record(try Self.read())
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }

        #expect(try database.count("SELECT count(*) FROM events WHERE type = 'audit.report_read'") == 1, "the read before the shutdown is stored")
        await #expect(throws: (any Error).self, "the pool's threads have ended") {
            try await pool.withConnection { try $0.query("SELECT 1").scalar }
        }
        do {
            try await recorder.record(try Self.read())
            Issue.record("a read was recorded after the shutdown")
        } catch let problem as Problem {
            #expect(problem.status == .serviceUnavailable)
            #expect(problem.kind == "shutting-down")
        }
        #expect(try database.count("SELECT count(*) FROM events WHERE type = 'audit.report_read'") == 1)
    }

    static func read() throws -> DecodedEvent {
        let data: JSONValue = [
            "report_id": "daily-2026-01-01", "version": .number(1), "format": "json",
            "reader": ["name": "auditor-1", "role": "auditor"], "channel": "api",
        ]
        return try OwnEventType.reportRead.event(data: data, at: .now)
    }
}
}
