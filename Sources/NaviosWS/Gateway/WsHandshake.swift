/// The upgrade request as the spec's `client.handshake` shows it.
public struct WsHandshake: Sendable, Codable, Equatable {
    /// Header fields by lower-cased name (the first value of a repeated field).
    public let headers: [String: String]
    /// Credentials: the query parameters, plus `token` from an `Authorization: Bearer` header
    /// (a browser's WebSocket cannot set headers, so the query is how browsers pass a token).
    public let auth: [String: WsJSONValue]
    public let query: [String: String]
    /// The path and query as requested.
    public let url: String

    /// A Socket.IO client's: its connection's, with its CONNECT packet's `auth` object as its
    /// credentials, as Socket.IO servers give them.
    init(_ connection: WsHandshake, auth: [String: WsJSONValue]) {
        headers = connection.headers
        query = connection.query
        url = connection.url
        self.auth = auth
    }

    /// `credentials`: whether the query and an `Authorization: Bearer` header make `auth` (a
    /// Socket.IO connection's clients take theirs from their CONNECT packets instead).
    init(_ request: WsUpgradeRequest, credentials: Bool = true) {
        var headers: [String: String] = [:]
        for (name, value) in request.headers where headers[name.lowercased()] == nil {
            headers[name.lowercased()] = value
        }
        var query: [String: String] = [:]
        for (name, value) in request.queryItems where query[name] == nil { query[name] = value }
        var auth: [String: WsJSONValue] = [:]
        if credentials {
            auth = query.mapValues { WsJSONValue.string($0) }
            if let authorization = headers["authorization"], authorization.lowercased().hasPrefix("bearer ") {
                auth["token"] = .string(String(authorization.dropFirst(7)).trimmingWhitespace())
            }
        }
        self.headers = headers
        self.query = query
        self.auth = auth
        self.url = request.query.isEmpty ? request.path : request.path + "?" + request.query
    }
}

extension String {
    func trimmingWhitespace() -> String { Substring(self).trimmingWhitespace() }
}
