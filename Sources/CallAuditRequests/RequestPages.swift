import CallAuditDomain
import CallAuditProjections

/// How the request list is ordered.
package enum RequestOrder: String, CaseIterable, Sendable {
    /// Newest receipt first.
    case received
    /// Open requests by deadline, soonest first; then the closed ones, newest receipt first.
    case deadline
}

/// Where a page of the request list ends: the last request's place in its
/// order. `phase` says which run of the order it is in: `received` for the
/// receipt order; `open` (keyed by deadline) or `closed` (keyed by receipt)
/// for the deadline order.
package struct RequestPageKey: Sendable, Equatable {
    package enum Phase: String, Sendable, CaseIterable { case received, open, closed }

    package var phase: Phase
    /// The deadline (phase `open`) or the receipt (otherwise), microseconds since 1970.
    package var microseconds: Int64
    package var requestID: String

    package init(phase: Phase, microseconds: Int64, requestID: String) {
        self.phase = phase
        self.microseconds = microseconds
        self.requestID = requestID
    }

    /// Whether a page of `order` can end here.
    package func belongs(to order: RequestOrder) -> Bool { (phase == .received) == (order == .received) }
}

/// One page of the request list: its requests, and where the next one starts (nil on the last).
package struct RequestPage: Sendable {
    package var requests: [SubjectRequestSummary]
    package var next: RequestPageKey?
}

extension RequestDesk {
    /// A page of at most `limit` requests after `after`, in `order`; `status` filters.
    ///
    /// By receipt, a keyset page of the table. By deadline, the open requests
    /// come first: deadlines follow from the policy (calendar months, the
    /// extension), not from a column, so the open ones are read whole (the
    /// status index finds them; they are the few with a deadline still
    /// running) and ordered here; the closed ones follow as keyset pages by receipt.
    package func page(order: RequestOrder, status: SubjectRequest.Status?, after: RequestPageKey?, limit: Int) throws -> RequestPage {
        let table = SubjectRequestTable(connection: connection)
        // Only a forged cursor is in the open phase for a list of closed requests: an empty page, not page one again.
        if order == .deadline, after?.phase == .open, let status, status != .open { return RequestPage(requests: [], next: nil) }
        var found: [SubjectRequestSummary] = []
        switch order {
        case .received:
            found = try table.list(status: status, before: after.map(Self.receipt), limit: limit + 1)
        case .deadline:
            if status == nil || status == .open, after.map({ $0.phase == .open }) ?? true {
                // Ids compared by bytes, as the cursor's keyset and `COLLATE "C"` compare them: Swift's `<`
                // took canonically equivalent ids for one, and a page lost one of them.
                found = try table.list(status: .open).map { (key: deadlineKey($0), request: $0) }
                    .filter { entry in after.map { Self.precedes(($0.microseconds, $0.requestID), (entry.key, entry.request.id)) } ?? true }
                    .sorted { Self.precedes(($0.key, $0.request.id), ($1.key, $1.request.id)) }
                    .prefix(limit + 1).map(\.request)
            }
            if found.count <= limit, status != .open {
                let closedAfter = after.flatMap { $0.phase == .closed ? Self.receipt($0) : nil }
                found += try table.list(status: status, closedOnly: true, before: closedAfter, limit: limit + 1 - found.count)
            }
        }
        let shown = Array(found.prefix(limit))
        return RequestPage(requests: shown, next: found.count > limit ? shown.last.map { key(of: $0, in: order) } : nil)
    }

    /// Deadline order: by the deadline, then by the id's bytes.
    private static func precedes(_ lhs: (Int64, String), _ rhs: (Int64, String)) -> Bool {
        lhs.0 != rhs.0 ? lhs.0 < rhs.0 : lhs.1.utf8.lexicographicallyPrecedes(rhs.1.utf8)
    }

    /// Where `request` stands in `order`.
    private func key(of request: SubjectRequestSummary, in order: RequestOrder) -> RequestPageKey {
        switch (order, request.status) {
        case (.received, _): RequestPageKey(phase: .received, microseconds: request.receivedAt.microseconds, requestID: request.id)
        case (.deadline, .open): RequestPageKey(phase: .open, microseconds: deadlineKey(request), requestID: request.id)
        case (.deadline, _): RequestPageKey(phase: .closed, microseconds: request.receivedAt.microseconds, requestID: request.id)
        }
    }

    /// The deadline to order by; a regime the policy does not know has none, and goes last.
    private func deadlineKey(_ request: SubjectRequestSummary) -> Int64 {
        request.deadline(policy: policy)?.microseconds ?? RequestPage.noDeadline
    }

    private static func receipt(_ key: RequestPageKey) -> (receivedAt: Timestamp, id: String) {
        (Timestamp(microseconds: key.microseconds), key.requestID)
    }
}

extension RequestPage {
    /// Where a request without a deadline sorts: after every real one (the last microsecond of 9999).
    package static let noDeadline: Int64 = 253_402_300_799_999_999
}
