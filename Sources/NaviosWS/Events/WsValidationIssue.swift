/// One thing wrong with a payload: where (`path`, JSON keys and array indices joined with ".",
/// such as `items.2.name`; empty for the payload as a whole) and what, in words a client can show.
public struct WsValidationIssue: Codable, Sendable, Equatable {
    public let path: String
    public let message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    /// The same issue seen from the value that contains this one at `prefix`.
    func prefixed(by prefix: String) -> WsValidationIssue {
        WsValidationIssue(path: path.isEmpty ? prefix : "\(prefix).\(path)", message: message)
    }
}
