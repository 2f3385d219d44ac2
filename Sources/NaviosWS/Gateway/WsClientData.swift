import Synchronization

/// Per-client storage (`client.data["user"] = user`), safe from any thread.
public final class WsClientData: Sendable {
    private let values = Mutex<[String: any Sendable]>([:])

    public subscript(key: String) -> (any Sendable)? {
        get { values.withLock { $0[key] } }
        set { values.withLock { $0[key] = newValue } }
    }

    /// The value under `key` if it has type `T`, or if it is JSON that decodes as `T` (what a
    /// client recovered on another instance has: its entries came as JSON).
    public func get<T: Sendable>(_ key: String, as type: T.Type = T.self) -> T? {
        let value = values.withLock { $0[key] }
        if let value = value as? T { return value }
        guard let json = value as? WsJSONValue, let decodable = T.self as? any Decodable.Type,
              let bytes = try? JSONEncoding.encode(json) else { return nil }
        func decode<D: Decodable>(_ type: D.Type) -> T? {
            try? bytes.withUnsafeBytes { try WsPayloadDecoding.decode(D.self, from: $0) } as? T
        }
        return decode(decodable)
    }

    /// The entries that encode as JSON, as JSON values (what another instance sees of them).
    func jsonEntries() -> [String: WsJSONValue] {
        let entries = values.withLock { $0 }
        var json: [String: WsJSONValue] = [:]
        for (key, value) in entries {
            if let value = value as? WsJSONValue {
                json[key] = value
            } else if let value = value as? any Encodable, let bytes = try? JSONEncoding.encode(value),
                      let decoded = try? bytes.withUnsafeBytes({ try WsPayloadDecoding.decode(WsJSONValue.self, from: $0) }) {
                json[key] = decoded
            }
        }
        return json
    }
}
