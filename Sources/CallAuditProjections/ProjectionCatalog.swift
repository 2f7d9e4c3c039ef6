import CallAuditDomain

/// Every projection the service keeps, by name.
package enum ProjectionCatalog {
    package static func all(policy: Policy) -> [any Projection] {
        [DailyVolumeProjection(), ComplianceProjection(policy: policy), ActivityProjection(policy: policy), SubjectRequestProjection()]
    }

    /// Their names, which do not depend on the policy.
    package static var names: [String] { all(policy: .default).map(\.name) }

    package static func named(_ name: String, policy: Policy) -> (any Projection)? { all(policy: policy).first { $0.name == name } }
}
