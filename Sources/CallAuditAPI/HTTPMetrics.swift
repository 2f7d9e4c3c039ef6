import Hummingbird
import Metrics

/// Counts every answer by route, method and status, and times it by route.
/// Outermost, so problems are counted with the status they were sent with.
/// The route is the matched pattern (`/v1/reports/{id}`), never the path:
/// the label set stays small and no identifier ends up in a metric.
struct HTTPMetrics<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        let route = context.endpointPath ?? "unmatched"
        Counter(
            label: "callaudit_http_requests_total",
            dimensions: [("route", route), ("method", request.method.rawValue), ("status", String(response.status.code))]
        ).increment()
        Metrics.Timer(label: "callaudit_http_request_duration_seconds", dimensions: [("route", route)]).record(duration: started.duration(to: .now))
        return response
    }
}
