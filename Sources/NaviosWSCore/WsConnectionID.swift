/// Names one connection of a ``WsEngine`` for as long as it is open.
///
/// The value packs the owning loop thread, a slot and a generation, so an id kept after its
/// connection closed is refused (``WsCoreError/stale``) instead of reaching a newer
/// connection that reuses the slot.
public struct WsConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Index of the loop thread that owns the connection.
    public var loop: Int { Int(rawValue >> 56) }

    public var description: String {
        // Stable, short, and opaque to clients: hex of the raw value.
        String(rawValue, radix: 16)
    }
}
