import CoreMetrics
import Prometheus

/// Metrics of the application, recorded through swift-metrics (into the factory
/// `MetricsSystem` was bootstrapped with) and, optionally, served for Prometheus.
///
/// ```swift
/// let registry = PrometheusCollectorRegistry()
/// MetricsSystem.bootstrap(WsMetrics.prometheusFactory(registry))
/// config.metrics = .prometheus(registry, token: "s3cret")   // GET /metrics
/// ```
/// The core's own counters (connections, messages, bytes, backpressure, loops) are read when
/// the metrics are collected (a scrape, or every ``collectionInterval`` for other backends),
/// never updated through Swift per message. Off (nil in ``WsConfig/metrics``) by default.
public struct WsMetrics: Sendable {
    /// What serves the registry; nil records through swift-metrics only.
    public struct Endpoint: Sendable {
        public var registry: PrometheusCollectorRegistry
        /// The path of the text exposition format.
        public var path: String
        /// nil: anyone who reaches the port may scrape. Otherwise the scraper sends
        /// `Authorization: Bearer TOKEN` (Prometheus' `authorization` setting) or `?token=TOKEN`.
        public var token: String?
        /// nil: the WebSocket port. Otherwise a port of its own on the same host, which answers
        /// nothing else (keep it off the load balancer).
        public var port: Int?
    }

    public var endpoint: Endpoint?
    /// How often the core's counters are carried into swift-metrics when nothing scrapes
    /// (backends that push, such as OpenTelemetry's); 10 s.
    public var collectionInterval: Duration = .seconds(10)
    /// Handler latency buckets (`navios_ws_handler_duration_seconds`): from 50 µs, where a
    /// synchronous handler lands, to 5 s, where a slow database call does.
    public static let handlerBuckets: [Double] = [
        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5,
    ]

    /// The Prometheus factory to bootstrap swift-metrics with, with the handler latency
    /// buckets above (its defaults start at 5 ms, past most handlers).
    public static func prometheusFactory(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets[WsMetricNames.handlerDuration] = handlerBuckets
        return factory
    }

    /// Records through swift-metrics only.
    public init() {}

    /// Records, and serves `registry` at `path` (on `port`, or the WebSocket port).
    public static func prometheus(
        _ registry: PrometheusCollectorRegistry, path: String = "/metrics", token: String? = nil, port: Int? = nil
    ) -> WsMetrics {
        var metrics = WsMetrics()
        metrics.endpoint = Endpoint(registry: registry, path: path, token: token, port: port)
        return metrics
    }
}
