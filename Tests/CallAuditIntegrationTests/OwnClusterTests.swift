import Testing

/// The tests that start PostgreSQL clusters of their own on the two ports after
/// the dev cluster's (a fresh cluster to restore onto, a streaming pair to fail
/// over, a cluster to restart under ingest): they cannot share those ports, so
/// they run one at a time, alongside everything under `DatabaseTests`.
@Suite("Clusters of their own", .serialized, .ownThreadsOutsideSlots)
enum OwnClusterTests {}
