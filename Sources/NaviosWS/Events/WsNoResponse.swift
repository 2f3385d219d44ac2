/// The response type of an event whose handler answers nothing; also usable as the payload type
/// of an event that carries no data.
public struct WsNoResponse: Codable, Sendable, Equatable {
    public init() {}

    /// Reads nothing, so any `data` (or none at all) is accepted: an event without a payload
    /// should not fail because a client library sends `null` or `{}` where nothing is expected.
    public init(from decoder: any Decoder) throws {}

    /// Writes JSON `null`, so an ack for such an event carries `"data":null` rather than an
    /// object the client would have to ignore.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encodeNil()
    }
}
