#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The bytes instances exchange on the pub/sub channels.
///
/// Broadcasts are the hot path: a short binary header (who sent it, the room keys, flags) and
/// then the envelope exactly as the emitting instance encoded it, so a receiving instance
/// frames it without parsing JSON. Requests and replies are rare: JSON after the header.
///
///     magic(4) version(1) node(u8 length + bytes) then, by magic:
///     "NWSB"  flags(1) rooms(u16 count, each u16 length + bytes) except(same)
///             [flag 2: Socket.IO packet (u32 length + bytes)] [flag 4: attachments (u16 count,
///             each u32 length + bytes)] [flag 8: recovery offset (u8 length + bytes)]
///             JSON envelope(rest)
///     "NWSQ"  request id(u64 BE) JSON(WsClusterRequest)   (replies go to the sender's channel)
///     "NWSR"  request id(u64 BE) JSON(WsClusterReply)
///
/// Anything else on a channel (another application's traffic, a truncated or corrupt message)
/// decodes to nil: the adapter ignores and counts it.
enum WsClusterWire {
    static let version: UInt8 = 1
    static let broadcastMagic = Array("NWSB".utf8)
    static let requestMagic = Array("NWSQ".utf8)
    static let replyMagic = Array("NWSR".utf8)

    enum Message: Equatable {
        case broadcast(from: String, WsClusterBroadcast)
        case request(from: String, id: UInt64, WsClusterRequest)
        case reply(from: String, id: UInt64, WsClusterReply)
    }

    static func encode(broadcast: WsClusterBroadcast, from node: String) -> [UInt8] {
        var out = header(broadcastMagic, node, capacity: broadcast.envelope.count + 64)
        let attachments = broadcast.attachments.prefix(Int(UInt16.max))
        let offset = broadcast.offset.map { Array($0.utf8.prefix(255)) }
        out.append((broadcast.volatile ? 1 : 0) | (broadcast.socketIO != nil ? 2 : 0) | (attachments.isEmpty ? 0 : 4)
                   | (offset != nil ? 8 : 0))
        appendList(broadcast.rooms, to: &out)
        appendList(broadcast.exceptRooms, to: &out)
        if let packet = broadcast.socketIO { appendBlob(packet, to: &out) }
        if !attachments.isEmpty {
            appendU16(attachments.count, to: &out)
            for attachment in attachments { appendBlob(attachment, to: &out) }
        }
        if let offset {
            out.append(UInt8(offset.count))
            out += offset
        }
        out += broadcast.envelope
        return out
    }

    static func encode(request: WsClusterRequest, id: UInt64, from node: String) throws -> [UInt8] {
        var out = header(requestMagic, node, capacity: 128)
        appendU64(id, to: &out)
        out += try JSONEncoder().encode(request)
        return out
    }

    static func encode(reply: WsClusterReply, id: UInt64, from node: String) throws -> [UInt8] {
        var out = header(replyMagic, node, capacity: 128)
        appendU64(id, to: &out)
        out += try JSONEncoder().encode(reply)
        return out
    }

    static func decode(_ bytes: UnsafeRawBufferPointer) -> Message? {
        var reader = Reader(bytes: bytes)
        guard let magic = reader.take(4), reader.byte() == version, let node = reader.shortString() else { return nil }
        if magic.elementsEqual(broadcastMagic) {
            guard let flags = reader.byte(), flags & ~15 == 0,
                  let rooms = reader.list(), !rooms.isEmpty, let except = reader.list() else { return nil }
            var socketIO: [UInt8]?
            if flags & 2 != 0 {
                guard let packet = reader.blob() else { return nil }
                socketIO = Array(packet)
            }
            var attachments: [[UInt8]] = []
            if flags & 4 != 0 {
                guard let count = reader.u16() else { return nil }
                for _ in 0..<count {
                    guard let attachment = reader.blob() else { return nil }
                    attachments.append(Array(attachment))
                }
            }
            var offset: String?
            if flags & 8 != 0 {
                guard let text = reader.shortString() else { return nil }
                offset = text
            }
            return .broadcast(from: node, WsClusterBroadcast(
                rooms: rooms, exceptRooms: except, volatile: flags & 1 != 0, envelope: Array(reader.rest()),
                socketIO: socketIO, attachments: attachments, offset: offset))
        }
        guard let id = reader.u64() else { return nil }
        let json = Data(reader.rest())
        if magic.elementsEqual(requestMagic) {
            return (try? JSONDecoder().decode(WsClusterRequest.self, from: json)).map { .request(from: node, id: id, $0) }
        }
        if magic.elementsEqual(replyMagic) {
            return (try? JSONDecoder().decode(WsClusterReply.self, from: json)).map { .reply(from: node, id: id, $0) }
        }
        return nil
    }

    // MARK: writing

    private static func header(_ magic: [UInt8], _ node: String, capacity: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(capacity)
        out += magic
        out.append(version)
        let name = Array(node.utf8.prefix(255))
        out.append(UInt8(name.count))
        out += name
        return out
    }

    private static func appendList(_ strings: [String], to out: inout [UInt8]) {
        let strings = strings.prefix(Int(UInt16.max))
        appendU16(strings.count, to: &out)
        for string in strings {
            let bytes = string.utf8.prefix(Int(UInt16.max))
            appendU16(bytes.count, to: &out)
            out += bytes
        }
    }

    private static func appendU16(_ value: Int, to out: inout [UInt8]) {
        out.append(UInt8(value >> 8))
        out.append(UInt8(value & 0xFF))
    }

    private static func appendBlob(_ bytes: [UInt8], to out: inout [UInt8]) {
        let count = UInt32(clamping: bytes.count)
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: count >> UInt32(shift))) }
        out += bytes.prefix(Int(count))
    }

    private static func appendU64(_ value: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    // MARK: reading

    /// Reads fields off the front; every read checks the length first, so a truncated
    /// message yields nil, never an over-read.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        mutating func take(_ count: Int) -> UnsafeRawBufferPointer? {
            guard count <= bytes.count - offset else { return nil }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
        }

        mutating func byte() -> UInt8? { take(1)?[0] }

        mutating func u16() -> Int? { take(2).map { Int($0[0]) << 8 | Int($0[1]) } }

        mutating func blob() -> UnsafeRawBufferPointer? {
            guard let length = take(4).map({ $0.reduce(0) { $0 << 8 | Int($1) } }) else { return nil }
            return take(length)
        }

        mutating func u64() -> UInt64? { take(8).map { $0.reduce(0) { $0 << 8 | UInt64($1) } } }

        mutating func string(_ count: Int) -> String? {
            guard let raw = take(count) else { return nil }
            return String(validating: raw, as: UTF8.self)
        }

        mutating func shortString() -> String? { byte().flatMap { string(Int($0)) } }

        mutating func list() -> [String]? {
            guard let count = u16() else { return nil }
            var strings: [String] = []
            strings.reserveCapacity(min(count, 64))
            for _ in 0..<count {
                guard let length = u16(), let string = string(length) else { return nil }
                strings.append(string)
            }
            return strings
        }

        mutating func rest() -> UnsafeRawBufferPointer {
            defer { offset = bytes.count }
            return UnsafeRawBufferPointer(rebasing: bytes[offset...])
        }
    }
}
