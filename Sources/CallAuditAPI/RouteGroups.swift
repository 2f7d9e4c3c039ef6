import Hummingbird

/// Where every route is registered: on the group of who may call it. A route
/// registrar gets these groups, never the router, so a route cannot be added
/// without saying who may call it. The roles are `openapi.yaml`'s `x-roles`;
/// `CallAuditAPITests` walks the router against that document.
struct RouteGroups {
    /// Routes anyone may call, with or without a token: health, readiness, the
    /// dashboard's files, the OpenAPI document. Each is documented `x-roles: [public]`.
    let anyone: RouterGroup<APIContext>
    private let router: Router<APIContext>

    init(router: Router<APIContext>) {
        self.router = router
        anyone = router.group()
    }

    /// The group of routes callers with one of `roles` may call: no token is
    /// 401, a token of another role 403, before the handler runs.
    func callers(_ roles: APIRole...) -> RouterGroup<CallerContext> {
        router.group(context: CallerContext.self).add(middleware: RoleGate(allowed: roles))
    }
}

/// Lets through callers whose role is one of `allowed` (in the order the
/// 403 names them); refuses the others.
struct RoleGate: RouterMiddleware {
    typealias Context = CallerContext

    let allowed: [APIRole]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard allowed.contains(context.caller.role) else {
            throw Problem(
                .forbidden, "forbidden",
                "role \(context.caller.role.rawValue) may not do this; allowed: \(allowed.map(\.rawValue).joined(separator: ", "))")
        }
        return try await next(request, context)
    }
}
