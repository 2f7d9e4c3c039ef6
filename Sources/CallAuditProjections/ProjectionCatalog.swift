/// Every projection the service keeps, by name.
public enum ProjectionCatalog {
    public static let all: [any Projection] = [DailyVolumeProjection()]

    public static func named(_ name: String) -> (any Projection)? { all.first { $0.name == name } }
}
