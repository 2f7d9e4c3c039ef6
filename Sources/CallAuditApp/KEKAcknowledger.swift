import CallAuditRuntime
import CallAuditStore
import CallAuditVault
import Foundation
import Logging

/// Tells the database, every 5 s, which KEK this instance wraps new data keys
/// with (re-reading the KEK file each time, as sealing does), so `keys
/// retire-kek` can refuse while any instance still uses the old one. A KEK
/// file that lacks the current KEK is logged as an error each round until it
/// gains it; it never stops the service. On stop the acknowledgement is
/// withdrawn: a stopped instance wraps nothing.
final class KEKAcknowledger: Sendable {
    private let source: KeyEncryptionSource
    private let database: DatabaseConfiguration
    private let logger: Logger
    private let stop = StopSignal()

    init(source: KeyEncryptionSource, database: DatabaseConfiguration, logger: Logger) {
        self.source = source
        // Liveness, not a record: it commits locally and never waits for a standby (a failover that
        // loses one is made good by the next round; the retired-KEK triggers refuse a stale wrap anyway).
        var database = database.forDerivedRecords
        // A round stuck behind a lock is worth less than the next one, and must not hold up a shutdown.
        database.statementTimeout = min(database.statementTimeout == .zero ? .seconds(2) : database.statementTimeout, .seconds(2))
        self.database = database
        self.logger = logger
    }

    func requestStop() { stop.signal() }

    /// Blocks until `requestStop`.
    func run() {
        var connection: PostgresConnection?
        while !stop.isSignalled {
            do {
                let session = try connection ?? database.connect(application: "callaudit-kek")
                connection = session
                try refresh(on: session)
            } catch {
                connection = nil
                logger.warning("cannot acknowledge the KEK in PostgreSQL; retrying", metadata: ["error": "\(error)"])
            }
            stop.wait(for: KEKAcknowledgements.refreshInterval)
        }
        if let connection { try? KEKAcknowledgements.withdraw(on: connection) }
    }

    private func refresh(on connection: PostgresConnection) throws {
        let keys: KeyEncryptionKeys
        do {
            keys = try source.load(create: false)
        } catch {
            logger.error("cannot read the KEK file; keeping the last acknowledgement", metadata: ["error": "\(error)"])
            return
        }
        if let refusal = try KEKAcknowledgements.refusal(of: keys, on: connection) {
            logger.error(
                "the KEK file is out of date: \(refusal); sealing personal data stops until it is current",
                metadata: ["kek.source": "\(source.displayName)", "kek.id": "\(keys.currentID)"])
        }
        try KEKAcknowledgements.acknowledge(keys.currentID, on: connection)
    }
}
