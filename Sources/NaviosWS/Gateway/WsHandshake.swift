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
    /// Whether the connection came over TLS (Socket.IO's `handshake.secure`).
    public var secure: Bool = false
    /// Mutual TLS: the subject of the client's verified certificate, as RFC 2253 writes it
    /// ("CN=alice,O=Example"); nil without one. A guard can authorize by it.
    public var tlsPeerSubject: String? = nil

    /// A Socket.IO client's: its connection's, with its CONNECT packet's `auth` object as its
    /// credentials, as Socket.IO servers give them.
    init(_ connection: WsHandshake, auth: [String: WsJSONValue]) {
        headers = connection.headers
        query = connection.query
        url = connection.url
        secure = connection.secure
        tlsPeerSubject = connection.tlsPeerSubject
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
        self.secure = request.isSecure
        self.tlsPeerSubject = request.tlsPeerSubject
    }
}

extension WsHandshake {
    private enum CodingKeys: String, CodingKey {
        case headers, auth, query, url, secure, tlsPeerSubject
    }

    /// What an instance of an older version sent has no TLS fields: read as plain.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        headers = try c.decode([String: String].self, forKey: .headers)
        auth = try c.decode([String: WsJSONValue].self, forKey: .auth)
        query = try c.decode([String: String].self, forKey: .query)
        url = try c.decode(String.self, forKey: .url)
        secure = try c.decodeIfPresent(Bool.self, forKey: .secure) ?? false
        tlsPeerSubject = try c.decodeIfPresent(String.self, forKey: .tlsPeerSubject)
    }
}

extension String {
    func trimmingWhitespace() -> String { Substring(self).trimmingWhitespace() }
}
