import CallAuditStore
import Foundation
import Logging

/// Who ingests a consumer group when membership is exclusive: the process
/// holding a PostgreSQL advisory lock named after the group, on a session of
/// its own. Others stand by, polling the lock; when the holder stops or dies,
/// PostgreSQL ends its session and frees the lock at once, so a successor
/// takes over within a poll — no Kafka group coordinator to wait out.
///
/// A leader that loses its session may still commit a batch in flight while a
/// successor starts: nothing is lost or stored twice even then, because
/// events are unique by `(source, id)`, dead letters by Kafka position, and
/// stored positions only move forward.
final class IngestLeadership {
    private let database: DatabaseConfiguration
    private let key: String
    private let logger: Logger
    private var session: PostgresConnection?

    init(database: DatabaseConfiguration, consumerGroup: String, logger: Logger) {
        self.database = database
        self.key = "callaudit.ingest." + consumerGroup
        self.logger = logger
    }

    /// Blocks until this process holds the lock (true), or until `shouldStop` (false).
    func acquire(pollEvery interval: Duration = .milliseconds(250), shouldStop: () -> Bool) -> Bool {
        var standingBy = false
        while !shouldStop() {
            do {
                let session = try self.session ?? database.connect(application: "callaudit-ingest-leader")
                self.session = session
                if try session.query("SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended($1, 0))::text", [.text(key)]).scalar == "true" {
                    logger.info("ingest leads its consumer group", metadata: ["ingest.lock": "\(key)"])
                    return true
                }
                if !standingBy {
                    logger.info("another instance ingests this consumer group; standing by", metadata: ["ingest.lock": "\(key)"])
                    standingBy = true
                }
            } catch {
                session = nil
                logger.warning("cannot reach PostgreSQL for the ingest lock; retrying", metadata: ["error": "\(error)"])
            }
            let deadline = ContinuousClock.now + interval
            while !shouldStop(), ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
        }
        return false
    }

    /// Whether the lock is still held: its session still answers.
    func isHeld() -> Bool {
        guard let session else { return false }
        do {
            _ = try session.query("SELECT 1")
            return true
        } catch {
            self.session = nil
            return false
        }
    }

    /// Gives the lock up by ending its session.
    func release() {
        session = nil
    }
}
