#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Any `Encodable` value as JSON: the streaming writer (``WsJSONWriter``) first, JSONEncoder
/// for what the writer declines, so the output is always valid JSON and always the same for
/// the same value. Strings are escaped by one routine, `JSONBuffer.writeString`.
@usableFromInline
package enum JSONEncoding {
    /// Shared: swift-foundation's JSONEncoder keeps its options behind a lock and each encode
    /// its own state, so one instance serves every thread. Sorted keys keep the output stable
    /// for tests and caches.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    package static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        if let bytes = try? WsJSONWriter.encode(value) { return bytes }
        return Array(try encoder.encode(value))
    }

    /// `value` written at the end of `buffer`, between whatever the caller writes around it.
    @usableFromInline
    package static func write<T: Encodable>(_ value: T, into buffer: inout JSONBuffer) throws {
        let start = buffer.count
        do {
            try WsJSONWriter.write(value, into: &buffer)
        } catch is WsJSONWriter.Unsupported {
            buffer.truncate(to: start)
            buffer.put(Array(try encoder.encode(value)))
        }
    }

    /// `value` with its `Data` and `[UInt8]` as Socket.IO's placeholders, their bytes appended
    /// to `attachments`. A value the writer declines (one holding a `Date` or `URL`, say) is
    /// written by JSONEncoder, whose `Data` is base64 text: no attachment.
    package static func write<T: Encodable>(_ value: T, into buffer: inout JSONBuffer, attachments: inout [[UInt8]]) throws {
        let start = buffer.count
        let before = attachments.count
        do {
            try WsJSONWriter.write(value, into: &buffer, attachments: &attachments)
        } catch is WsJSONWriter.Unsupported {
            buffer.truncate(to: start)
            attachments.removeSubrange(before...)
            buffer.put(Array(try encoder.encode(value)))
        }
    }
}
