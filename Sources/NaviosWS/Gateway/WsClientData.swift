import Synchronization

/// Per-client storage (`client.data["user"] = user`), safe from any thread.
public final class WsClientData: Sendable {
    private let values = Mutex<[String: any Sendable]>([:])

    public subscript(key: String) -> (any Sendable)? {
        get { values.withLock { $0[key] } }
        set { values.withLock { $0[key] = newValue } }
    }

    /// The value under `key` if it has type `T`.
    public func get<T: Sendable>(_ key: String, as type: T.Type = T.self) -> T? {
        values.withLock { $0[key] as? T }
    }
}
