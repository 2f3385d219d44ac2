/// What a client is sent when its payload did not decode or did not validate; the handler never
/// ran. Encodes as
/// `{"code":"invalid_payload","message":"...","issues":[{"path":"text","message":"..."}]}`.
public struct WsPayloadError: Error, Codable, Sendable, Equatable {
    /// Always `invalid_payload`, so clients can tell this from errors that handlers throw.
    public let code: WsErrorCode
    /// A one-line summary; the details are in `issues`.
    public let message: String
    /// Every problem found, each with its path (at least one).
    public let issues: [WsValidationIssue]

    /// At most this many issues are reported: a 100,000-element array of wrong values is
    /// answered with a few, not with a reply larger than the message.
    static let maxIssues = 16
    /// Paths are cut to this many bytes: a path holds the client's own dictionary keys.
    static let maxPathBytes = 128

    init(message: String, issues: [WsValidationIssue]) {
        self.code = .invalidPayload
        self.message = message
        self.issues = issues.prefix(Self.maxIssues).map { issue in
            WsValidationIssue(path: issue.path.prefix(utf8Bytes: Self.maxPathBytes), message: issue.message)
        }
    }
}
