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
        guard Self.authorized(request, token: endpoint.token) else {
            return WsHTTPResponse(status: 401, headers: [("WWW-Authenticate", "Bearer")], body: Array("unauthorized\n".utf8))
        }
        if let engine = engine() { metrics.collect(engine: engine, adapter: adapter) }
        return WsHTTPResponse(contentType: "text/plain; version=0.0.4; charset=utf-8", body: endpoint.registry.emitToBuffer())
    }

    /// `Authorization: Bearer TOKEN` or `?token=TOKEN`, compared in constant time.
    static func authorized(_ request: WsUpgradeRequest, token: String?) -> Bool {
        guard let token else { return true }
        let offered = request.header("authorization").flatMap { value -> String? in
            value.lowercased().hasPrefix("bearer ") ? String(value.dropFirst(7)) : nil
        } ?? request.queryItems.first { $0.name == "token" }?.value
        guard let offered else { return false }
        let a = Array(offered.utf8), b = Array(token.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<min(a.count, b.count) { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

/// The engine of a separate metrics port: it answers the scrape and refuses every upgrade.
final class WsMetricsPortHandler: WsEngineHandler {
    let endpoint: WsMetricsEndpoint
    init(_ endpoint: WsMetricsEndpoint) { self.endpoint = endpoint }
    func shouldAccept(path: String) -> Bool { false }
    func httpRequest(_ request: WsUpgradeRequest) -> WsHTTPResponse? { endpoint.answer(request) }
}
