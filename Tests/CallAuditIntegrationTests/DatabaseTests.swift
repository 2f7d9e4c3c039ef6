import Testing

/// Every test that uses the dev PostgreSQL cluster and nothing else of the
/// machine's: each makes its own database, mock Kafka cluster, key folders and
/// HTTP port, so they run side by side, each on a thread of its own and at
/// most `CALLAUDIT_TEST_PARALLELISM` at a time (Support/TestThreads.swift).
@Suite("Against PostgreSQL", .ownThreads)
enum DatabaseTests {}
