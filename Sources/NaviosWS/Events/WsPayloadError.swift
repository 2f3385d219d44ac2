/// What a client is sent when its payload did not decode or did not validate; the handler never
/// ran. Encodes as
/// `{"code":"invalid_payload","message":"...","issues":[{"path":"text","message":"..."}]}`.
public struct WsPayloadError: Error, Codable, Sendable, Equatable {
    /// Always `invalid_payload`, so clients can tell this from errors that handlers throw.
    public let code: String
    /// A one-line summary; the details are in `issues`.
    public let message: String
    /// Every problem found, each with its path (at least one).
    public let issues: [WsValidationIssue]

    static let invalidPayload = "invalid_payload"

    init(message: String, issues: [WsValidationIssue]) {
        self.code = Self.invalidPayload
        self.message = message
        self.issues = issues
    }
}
