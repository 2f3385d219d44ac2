import NaviosJSON
import NaviosWSCore

/// The upgrade request as the spec's `client.handshake` shows it.
///
/// Every client keeps one for its lifetime, and most never read it after their guards ran, so
/// it keeps the request as it came: the header fields in one string, and the URL. The
/// dictionaries are read from them when asked for. Three dictionaries of small strings per
/// client were about 600 bytes of every idle connection's memory.
public struct WsHandshake: Sendable {
    /// The header fields as sent, one "name\u{0}value\u{0}" pair after another.
    private let fields: String
    /// The path and query as requested.
    public let url: String
    /// Whether `auth` is made from the query and an `Authorization: Bearer` header.
    private let credentialsFromRequest: Bool
    /// A Socket.IO client's credentials (its CONNECT packet's `auth`), or what a decoded
    /// handshake carried; nil: made from the request.
    private let explicitAuth: [String: WsJSONValue]?
    /// A decoded handshake's query; nil: read from the URL.
    private let explicitQuery: [String: String]?
    /// Whether the connection came over TLS (Socket.IO's `handshake.secure`).
    public var secure: Bool = false
    /// Mutual TLS: the subject of the client's verified certificate, as RFC 2253 writes it
    /// ("CN=alice,O=Example"); nil without one. A guard can authorize by it.
    public var tlsPeerSubject: String? = nil

    /// Header fields by lower-cased name (the first value of a repeated field).
    public var headers: [String: String] {
        var headers: [String: String] = [:]
        forEachField { name, value in
            let key = name.lowercased()
            if headers[key] == nil { headers[key] = String(value) }
            return true
        }
        return headers
    }

    /// Calls `body` with each header field as sent, until it returns false.
    private func forEachField(_ body: (Substring, Substring) -> Bool) {
        var parts = fields.split(separator: "\u{0}", omittingEmptySubsequences: false).makeIterator()
        while let name = parts.next(), let value = parts.next(), body(name, value) {}
    }

    /// The first value of a header field, its name matched without case, read without making
    /// the whole dictionary.
    private func field(_ lowercasedName: String) -> Substring? {
        var found: Substring?
        forEachField { name, value in
            if name.lowercased() == lowercasedName { found = value }
            return found == nil
        }
        return found
    }

    /// The query parameters, percent-decoded (the first value of a repeated one).
    public var query: [String: String] {
        if let explicitQuery { return explicitQuery }
        guard let mark = url.firstIndex(of: "?") else { return [:] }
        var query: [String: String] = [:]
        for (name, value) in WsUpgradeRequest.queryItems(of: url[url.index(after: mark)...]) where query[name] == nil {
            query[name] = value
        }
        return query
    }

    /// Credentials: the query parameters, plus `token` from an `Authorization: Bearer` header
    /// (a browser's WebSocket cannot set headers, so the query is how browsers pass a token).
    /// A Socket.IO client's are its CONNECT packet's `auth` object.
    public var auth: [String: WsJSONValue] {
        if let explicitAuth { return explicitAuth }
        guard credentialsFromRequest else { return [:] }
        var auth = query.mapValues { WsJSONValue.string($0) }
        if let authorization = field("authorization"), authorization.lowercased().hasPrefix("bearer ") {
            auth["token"] = .string(String(authorization.dropFirst(7)).trimmingWhitespace())
        }
        return auth
    }

    /// A Socket.IO client's: its connection's, with its CONNECT packet's `auth` object as its
    /// credentials, as Socket.IO servers give them.
    init(_ connection: WsHandshake, auth: [String: WsJSONValue]) {
        fields = connection.fields
        url = connection.url
        credentialsFromRequest = false
        explicitAuth = auth
        explicitQuery = connection.explicitQuery
        secure = connection.secure
        tlsPeerSubject = connection.tlsPeerSubject
    }

    /// `credentials`: whether the query and an `Authorization: Bearer` header make `auth` (a
    /// Socket.IO connection's clients take theirs from their CONNECT packets instead).
    init(_ request: WsUpgradeRequest, credentials: Bool = true) {
        // NUL separates: the core's parser refuses every control character in a field.
        var fields = ""
        fields.reserveCapacity(request.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 2 })
        for (name, value) in request.headers {
            fields += name
            fields += "\u{0}"
            fields += value
            fields += "\u{0}"
        }
        self.fields = fields
        url = request.query.isEmpty ? request.path : request.path + "?" + request.query
        credentialsFromRequest = credentials
        explicitAuth = nil
        explicitQuery = nil
        secure = request.isSecure
        tlsPeerSubject = request.tlsPeerSubject
    }
}

extension WsHandshake: Equatable {
    public static func == (a: WsHandshake, b: WsHandshake) -> Bool {
        a.url == b.url && a.secure == b.secure && a.tlsPeerSubject == b.tlsPeerSubject && a.headers == b.headers
            && a.query == b.query && a.auth == b.auth
    }
}

/// Instances exchange handshakes (a remote socket's) as the dictionaries.
extension WsHandshake: Codable {
    private enum CodingKeys: String, CodingKey {
        case headers, auth, query, url, secure, tlsPeerSubject
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(headers, forKey: .headers)
        try c.encode(auth, forKey: .auth)
        try c.encode(query, forKey: .query)
        try c.encode(url, forKey: .url)
        try c.encode(secure, forKey: .secure)
        try c.encodeIfPresent(tlsPeerSubject, forKey: .tlsPeerSubject)
    }

    /// What an instance of an older version sent has no TLS fields: read as plain.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let headers = try c.decode([String: String].self, forKey: .headers)
        fields = headers.sorted { $0.key < $1.key }.map { "\($0.key)\u{0}\($0.value)\u{0}" }.joined()
        explicitAuth = try c.decode([String: WsJSONValue].self, forKey: .auth)
        explicitQuery = try c.decode([String: String].self, forKey: .query)
        credentialsFromRequest = false
        url = try c.decode(String.self, forKey: .url)
        secure = try c.decodeIfPresent(Bool.self, forKey: .secure) ?? false
        tlsPeerSubject = try c.decodeIfPresent(String.self, forKey: .tlsPeerSubject)
    }
}

extension String {
    func trimmingWhitespace() -> String { Substring(self).trimmingWhitespace() }
}
