import ServiceLifecycle

/// Begins `cancellations` as soon as the service group starts its graceful
/// shutdown, then returns, so the services before it are told to stop without
/// waiting.
///
/// For resources that stop after their users (a session pool stops after the
/// API that borrows from it): their own turn to stop comes too late to cancel
/// what a user still waits for, so this service, placed after the users in
/// the group, starts the clock for them.
package struct CancelOnShutdown: Service, CustomStringConvertible {
    package let cancellations: [ShutdownCancellation]
    package var description: String { "cancel on shutdown" }

    package init(_ cancellations: [ShutdownCancellation]) { self.cancellations = cancellations }

    package func run() async throws {
        try? await gracefulShutdown()
        for cancellation in cancellations { cancellation.begin() }
    }
}
