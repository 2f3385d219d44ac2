import NaviosJSON

/// One Socket.IO v5 packet, as a client sends it in an Engine.IO message (the core has taken
/// off the message's '4'):
///
///     <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
///
/// e.g. `2["chat",{"text":"hi"}]`, `2/admin,7["ban","bob"]`, `51-["upload",{"_placeholder":true,"num":0}]`.
/// Read in place, with no allocation: namespace and payload are ranges of the caller's bytes.
/// What the protocol's own parser refuses is refused here too, and the connection is then
/// closed, as Socket.IO servers do: an unknown type, attachments on a packet that has none or
/// past the limit, a malformed namespace or ack id, a payload that is not JSON or not the shape
/// its type needs (an event's is an array starting with its name).
struct SocketIOPacket: Equatable {
    enum Kind: UInt8, Equatable {
        case connect = 0, disconnect, event, ack, connectError, binaryEvent, binaryAck
    }

    enum Failure: Error, Equatable {
        case emptyPacket, unknownType, badAttachments, tooManyAttachments, badNamespace, badAckID,
             payloadNotJSON, payloadShape
    }

    /// Attachments one packet may announce: a client library sends one per binary value of an
    /// event, and a header that announced millions would make the server wait for them.
    static let maxAttachments = 64
    /// Bytes of a namespace name: names are paths like `/chat`; anything longer is refused.
    static let maxNamespaceBytes = 256
    /// Digits of an ack id: 15 keeps it exact in a JavaScript number and in Int64.
    static let maxAckDigits = 15

    var kind: Kind
    var attachments = 0
    /// The namespace's bytes (`/chat`), nil for the main namespace `/`.
    var namespace: Range<Int>?
    var ackID: Int64?
    /// The JSON after the header, nil when there is none.
    var payload: Range<Int>?
    /// The payload's elements, for the kinds whose payload is an array (events and acks); its
    /// ranges are positions in the payload.
    var arguments: JSONArrayShape?

    /// Events a client may not send: Socket.IO reserves them for the library's own use.
    private static let reservedEvents: [[UInt8]] = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ].map { Array($0.utf8) }
    /// By byte: whether a reserved name starts with it (an array lookup, no hashing).
    private static let reservedInitials: [Bool] = (0...255).map { byte in reservedEvents.contains { $0.first == UInt8(byte) } }

    static func parse(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> SocketIOPacket {
        guard let first = bytes.first else { throw .emptyPacket }
        guard first >= UInt8(ascii: "0"), let kind = Kind(rawValue: first &- UInt8(ascii: "0")) else {
            throw .unknownType
        }
        var packet = SocketIOPacket(kind: kind)
        var p = 1
        if kind == .binaryEvent || kind == .binaryAck {
            let start = p
            while p < bytes.count, bytes[p].isDigit, p - start <= 3 { p += 1 }
            guard p > start, p < bytes.count, bytes[p] == UInt8(ascii: "-") else {
                throw p - start > 3 ? .tooManyAttachments : .badAttachments
            }
            packet.attachments = Self.number(bytes, start..<p)
            guard packet.attachments <= maxAttachments else { throw .tooManyAttachments }
            p += 1
        }
        if p < bytes.count, bytes[p] == UInt8(ascii: "/") {
            let start = p
            while p < bytes.count, bytes[p] != UInt8(ascii: ",") { p += 1 }
            guard p - start <= maxNamespaceBytes, bytes[start..<p].allSatisfy(\.isNamespaceByte) else {
                throw .badNamespace
            }
            packet.namespace = start..<p
            if p < bytes.count { p += 1 }   // the comma (a packet may end with its namespace: "40/chat")
            if packet.namespace == start..<(start + 1) { packet.namespace = nil }   // "/" itself
        }
        // The ack id, read as it is scanned (a digit more than allowed is refused before it could overflow).
        let digits = p
        var ackID: Int64 = 0
        while p < bytes.count, bytes[p].isDigit {
            guard p - digits < maxAckDigits else { throw .badAckID }
            ackID = ackID &* 10 &+ Int64(bytes[p] &- UInt8(ascii: "0"))
            p += 1
        }
        if p > digits {
            guard kind != .connect, kind != .disconnect, kind != .connectError else { throw .badAckID }
            packet.ackID = ackID
        }
        if p < bytes.count { packet.payload = p..<bytes.count }
        try packet.checkPayload(bytes)
        return packet
    }

    /// The payload each kind needs: CONNECT an object (the auth) or nothing, DISCONNECT nothing,
    /// an event an array whose first element is its name (not a reserved one), an ack an array.
    private mutating func checkPayload(_ bytes: UnsafeRawBufferPointer) throws(Failure) {
        switch kind {
        case .disconnect:
            guard payload == nil else { throw .payloadShape }
        case .connect:
            guard let payload else { return }
            let json = UnsafeRawBufferPointer(rebasing: bytes[payload])
            guard isValidJSON(json) else { throw .payloadNotJSON }
            guard json.first(where: { !$0.isJSONSpace }) == UInt8(ascii: "{") else { throw .payloadShape }
        case .event, .binaryEvent, .ack, .binaryAck:
            guard let payload else { throw .payloadShape }
            let json = UnsafeRawBufferPointer(rebasing: bytes[payload])
            guard let shape = JSONArrayShape(of: json) else {
                throw isValidJSON(json) ? .payloadShape : .payloadNotJSON
            }
            if kind == .event || kind == .binaryEvent {
                guard shape.count >= 1, let name = shape.firstString else { throw .payloadShape }
                let nameBytes = UnsafeRawBufferPointer(rebasing: json[name])
                // Every reserved name starts with c, d, n or r: most events are passed at their first byte.
                if let first = nameBytes.first, Self.reservedInitials[Int(first)],
                   Self.reservedEvents.contains(where: { $0.elementsEqual(nameBytes) }) { throw .payloadShape }
            }
            arguments = shape
        case .connectError:
            throw .payloadShape   // a server's packet: a client never sends it
        }
    }

    private static func number(_ bytes: UnsafeRawBufferPointer, _ digits: Range<Int>) -> Int {
        bytes[digits].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }
}

extension UInt8 {
    fileprivate var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
    fileprivate var isJSONSpace: Bool { self == 0x20 || self == 0x09 || self == 0x0A || self == 0x0D }
    /// Printable ASCII but the comma that ends the name: what namespace names are made of.
    fileprivate var isNamespaceByte: Bool { self > 0x20 && self < 0x7F && self != UInt8(ascii: ",") }
}
