/// Every metric the gateway records, by its swift-metrics label (which Prometheus exports as
/// the name). Dimensions are in brackets.
public enum WsMetricNames {
    // Connections (the core's, read when collected).
    public static let connectionsOpen = "navios_ws_connections_open"                 // gauge
    public static let connectionsAccepted = "navios_ws_connections_accepted_total"
    public static let upgradesRefused = "navios_ws_upgrades_refused_total"
    public static let protocolErrors = "navios_ws_protocol_errors_total"
    public static let timeouts = "navios_ws_timeouts_total"                          // [kind]
    // Clients of the gateways (a Socket.IO connection has one per namespace).
    public static let clientsOpen = "navios_ws_clients_open"                         // gauge [namespace]
    public static let clientsOpened = "navios_ws_clients_opened_total"               // [namespace]
    public static let clientsClosed = "navios_ws_clients_closed_total"               // [namespace, code]
    // Traffic (the core's).
    public static let messagesReceived = "navios_ws_messages_received_total"         // [protocol]
    public static let messagesSent = "navios_ws_messages_sent_total"                 // [protocol]
    public static let bytesReceived = "navios_ws_bytes_received_total"               // [protocol]
    public static let bytesSent = "navios_ws_bytes_sent_total"                       // [protocol]
    public static let queuedBytes = "navios_ws_queued_bytes"                         // gauge
    // Handlers.
    public static let handlerDuration = "navios_ws_handler_duration_seconds"         // [namespace, event]
    public static let errorsSent = "navios_ws_errors_sent_total"                     // [code]
    public static let rateLimited = "navios_ws_rate_limited_total"
    public static let guardRefusals = "navios_ws_guard_refusals_total"               // [level]
    // Broadcasts.
    public static let broadcasts = "navios_ws_broadcasts_total"
    public static let deliveries = "navios_ws_deliveries_total"
    public static let backpressureDrops = "navios_ws_backpressure_drops_total"
    public static let backpressureCloses = "navios_ws_backpressure_closes_total"
    // The adapter.
    public static let adapterLinkUp = "navios_ws_adapter_link_up"                    // gauge
    public static let adapterPublished = "navios_ws_adapter_broadcasts_published_total"
    public static let adapterDropped = "navios_ws_adapter_broadcasts_dropped_total"
    public static let adapterReceived = "navios_ws_adapter_broadcasts_received_total"
    public static let adapterIgnored = "navios_ws_adapter_ignored_messages_total"
    public static let adapterPublishLatency = "navios_ws_adapter_publish_latency_seconds_total"
    public static let adapterPublishesAnswered = "navios_ws_adapter_publishes_answered_total"
    // Loops (the core's, per loop thread).
    public static let loopIterations = "navios_ws_loop_iterations_total"             // [loop]
    public static let loopBusy = "navios_ws_loop_busy_seconds_total"                 // [loop]
    public static let loopInboxDepth = "navios_ws_loop_inbox_depth"                  // gauge [loop]
}
