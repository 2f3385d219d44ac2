/// The HTTP request that opened a connection, as the handlers see it.
public struct WsUpgradeRequest: Sendable {
    /// The path, without the query.
    public var path: String
    /// The raw query string, without `?` (may be empty).
    public var query: String
    /// Header fields in the order sent; names as sent.
    public var headers: [(name: String, value: String)]
    /// The subprotocol chosen, if any.
    public var subprotocol: String?
    /// Whether the connection speaks Engine.IO (a request to ``WsEngineConfiguration/EngineIO/path``).
    public var engineIO = false
    /// Whether the connection came over TLS (``WsEngineConfiguration/tls``).
    public var isSecure = false
    /// With client certificates (``WsEngineConfiguration/TLS/clientCertificateAuthorities``): the
    /// verified certificate's subject, as RFC 2253 writes it ("CN=alice,O=Example"); nil otherwise.
    public var tlsPeerSubject: String? = nil

    /// The first value of a header, matched case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    /// The query parsed into name/value pairs, percent-decoded (`+` as space).
    public var queryItems: [(name: String, value: String)] { Self.queryItems(of: Substring(query)) }

    /// A raw query string (without `?`) parsed into name/value pairs, percent-decoded.
    package static func queryItems(of query: Substring) -> [(name: String, value: String)] {
        query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.percentDecode(parts[0])
            let value = parts.count > 1 ? Self.percentDecode(parts[1]) : ""
            return (name, value)
        }
    }

    static func percentDecode(_ text: Substring) -> String {
        let input = Array(text.utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.count)
        var i = 0
        while i < input.count {
            let byte = input[i]
            if byte == UInt8(ascii: "%"), i + 2 < input.count,
               let high = hexValue(input[i + 1]), let low = hexValue(input[i + 2]) {
                bytes.append(high << 4 | low)
                i += 3
                continue
            }
            bytes.append(byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            i += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
