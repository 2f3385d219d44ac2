/// What connection state recovery needs from a service every instance reaches (Redis, with
/// ``WsAdapter/sharedStore``), so that a client may come back to any instance: sessions under
/// keys that expire, and an append-only log per namespace, read newest first in chunks.
///
/// Keys and log names are the runtime's; the store may prefix them. Writes do not wait: a
/// store that cannot be reached drops them (a session or broadcast that could not be written
/// cannot be recovered, and the client starts afresh). Reads return nil when the store cannot
/// be reached.
public protocol WsSharedStore: AnyObject, Sendable {
    /// Appends an entry (named fields) to `log`, keeping about the newest `maxLength`.
    func append(_ fields: [(name: String, value: [UInt8])], to log: String, maxLength: Int)
    /// Up to `count` entries of `log`, newest first, older than the entry `before` names (nil:
    /// from the newest). Empty past the oldest.
    func entries(of log: String, before: String?, count: Int) async -> [WsSharedLogEntry]?
    /// Stores `value` under `key` until it is taken or `expiringAfter` has passed.
    func put(_ value: [UInt8], at key: String, expiringAfter: Duration)
    /// The value under `key`, removed in the same step (of two instances asking, one gets
    /// it); nil when there is none or the store cannot be reached.
    func take(_ key: String) async -> [UInt8]?
}

/// One entry of a shared log: its id (which orders the log) and its fields.
public struct WsSharedLogEntry: Sendable, Equatable {
    public var id: String
    /// When the store wrote it, in milliseconds since 1970 (by the store's clock).
    public var milliseconds: Int64
    public var fields: [String: [UInt8]]

    public init(id: String, milliseconds: Int64, fields: [String: [UInt8]]) {
        self.id = id
        self.milliseconds = milliseconds
        self.fields = fields
    }
}
