/// The admin view (``WsConfig/admin``): a page at `path` that shows the application live over
/// a WebSocket of its own (`path + "/ws"`): connections per namespace, the largest rooms,
/// messages and deliveries per second, backpressure, the adapter's state, and a table of
/// sockets with their rooms and a disconnect button. The page and its WebSocket want the
/// token (`?token=` or `Authorization: Bearer`). The page is self-contained: no external
/// script, style sheet or font.
public struct WsAdmin: Sendable {
    public var path: String
    public var token: String
    /// How often the page is sent a new snapshot; 1 s.
    public var interval: Duration = .seconds(1)
    /// Sockets listed per snapshot (the total is shown too); 500.
    public var maxSockets: Int = 500

    public init(path: String = "/admin", token: String) {
        self.path = path
        self.token = token
    }

    var socketPath: String { path + "/ws" }
}
