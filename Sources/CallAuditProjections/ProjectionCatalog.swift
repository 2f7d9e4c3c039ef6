import CallAuditDomain

/// Every projection the service keeps, by name.
public enum ProjectionCatalog {
    public static func all(policy: Policy) -> [any Projection] {
        [DailyVolumeProjection(), ComplianceProjection(policy: policy)]
    }

    public static func named(_ name: String, policy: Policy) -> (any Projection)? { all(policy: policy).first { $0.name == name } }
}
