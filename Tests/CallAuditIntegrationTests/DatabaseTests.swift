import Testing

/// Every test that uses the dev PostgreSQL cluster and nothing else of the
/// machine's: each makes its own database, mock Kafka cluster, key folders and
/// HTTP port, and runs on a thread of its own, at most `CALLAUDIT_TEST_PARALLELISM`
/// at a time (1: the log's horizon is the cluster's; Support/TestThreads.swift says why).
@Suite("Against PostgreSQL", .ownThreads)
enum DatabaseTests {}
