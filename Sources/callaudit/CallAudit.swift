import ArgumentParser

@main
struct CallAudit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callaudit",
        abstract: "Compliance audit for call recording: Kafka events into an append-only PostgreSQL event store.",
        subcommands: [
            Migrate.self, Serve.self, Projections.self, Findings.self, Reports.self, Verify.self, VerifyStore.self, Seals.self, Conflicts.self, Keys.self, Tokens.self, PolicyCommand.self,
            Requests.self, Ingest.self, DevKafka.self, Simulate.self, DeadLetters.self, Summary.self, Schemas.self,
        ]
    )
}
