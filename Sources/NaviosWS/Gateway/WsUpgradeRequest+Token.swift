import NaviosWSCore

extension WsUpgradeRequest {
    /// Whether the request carries `token`, as `Authorization: Bearer TOKEN` or `?token=TOKEN`
    /// (compared in constant time); true when no token is wanted. For operators' endpoints:
    /// metrics and the admin view.
    func carries(token: String?) -> Bool {
        guard let token else { return true }
        let offered = header("authorization").flatMap { value -> String? in
            value.lowercased().hasPrefix("bearer ") ? String(value.dropFirst(7)) : nil
        } ?? queryItems.first { $0.name == "token" }?.value
        guard let offered else { return false }
        let a = Array(offered.utf8), b = Array(token.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<min(a.count, b.count) { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
