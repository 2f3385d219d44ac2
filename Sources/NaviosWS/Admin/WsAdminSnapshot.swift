/// What the admin page is sent each interval, as the payload of a `snapshot` event.
struct WsAdminSnapshot: Codable, Sendable {
    struct Namespace: Codable, Sendable {
        var name: String
        var clients: Int
    }

    struct Room: Codable, Sendable {
        var namespace: String
        var room: String
        var members: Int
    }

    struct Socket: Codable, Sendable {
        var id: String
        var namespace: String
        var `protocol`: String
        var rooms: [String]
    }

    struct Adapter: Codable, Sendable {
        var linkUp: Bool
        var published: Int
        var received: Int
        var dropped: Int
        var ignored: Int
    }

    var connections: UInt64
    var namespaces: [Namespace]
    var rooms: [Room]
    var messagesInPerSecond: Double
    var messagesOutPerSecond: Double
    var deliveriesPerSecond: Double
    var backpressureDrops: UInt64
    var backpressureCloses: UInt64
    var adapter: Adapter?
    var ready: Bool
    var draining: Bool
    var sockets: [Socket]
    var socketsTotal: Int
}
