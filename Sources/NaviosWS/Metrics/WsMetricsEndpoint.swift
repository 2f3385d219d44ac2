import NaviosWSCore
import Prometheus

/// Answers a scrape: the token checked, the core's counters collected, the registry rendered
/// in Prometheus' text format.
struct WsMetricsEndpoint: Sendable {
    let endpoint: WsMetrics.Endpoint
    let metrics: WsGatewayMetrics
    let engine: @Sendable () -> WsEngine?
    let adapter: any WsAdapter

    /// nil when the request is not for the metrics path.
    func answer(_ request: WsUpgradeRequest) -> WsHTTPResponse? {
        guard request.path == endpoint.path else { return nil }
        guard request.carries(token: endpoint.token) else {
            return WsHTTPResponse(status: 401, headers: [("WWW-Authenticate", "Bearer")], body: Array("unauthorized\n".utf8))
        }
        if let engine = engine() { metrics.collect(engine: engine, adapter: adapter) }
        return WsHTTPResponse(contentType: "text/plain; version=0.0.4; charset=utf-8", body: endpoint.registry.emitToBuffer())
    }
}

/// The engine of a separate metrics port: it answers the scrape and refuses every upgrade.
final class WsMetricsPortHandler: WsEngineHandler {
    let endpoint: WsMetricsEndpoint
    init(_ endpoint: WsMetricsEndpoint) { self.endpoint = endpoint }
    func shouldAccept(path: String) -> Bool { false }
    func httpRequest(_ request: WsUpgradeRequest) -> WsHTTPResponse? { endpoint.answer(request) }
}
