internal import CNaviosJSON
#if canImport(Glibc)
import Glibc
#endif

/// What a JSON value is, as the member scan sees it from its first byte.
package enum JSONKind: UInt8, Sendable {
    case absent = 0, string, number, object, array, `true`, `false`, null
}

/// Where one member's value lies in the scanned text.
package struct JSONMember {
    /// The value's text (a string with its quotes), nil when the key was absent.
    package var text: UnsafeRawBufferPointer?
    package var kind: JSONKind
    /// A string value holds backslash escapes: undo them before use.
    package var escaped: Bool
    /// The value, when it is an integer from 0 to 2^53 - 1 written plainly (as a JavaScript
    /// client's Number holds it exactly).
    package var safeInteger: Int64?
}

/// The keys a wire protocol looks for in its objects, prepared once: a scan recognises each
/// with one load and one compare (nws_json.h), after undoing escapes when a key has any.
/// The names are the caller's: this type knows none.
package final class JSONKeySet: @unchecked Sendable {
    // @unchecked: written once in init, read-only after.
    private let keys: UnsafeMutablePointer<nws_json_keys>
    private let names: [UnsafeMutablePointer<CChar>]
    package let count: Int

    /// At most 8 ASCII keys of at most 32 bytes each.
    package init(_ keys: [String]) {
        precondition(keys.count <= Int(NWS_JSON_MAX_KEYS) && keys.allSatisfy { $0.utf8.count <= Int(NWS_JSON_KEY_MAX) })
        names = keys.map { strdup($0)! }
        count = keys.count
        self.keys = .allocate(capacity: 1)
        names.map { UnsafePointer($0) as UnsafePointer<CChar>? }.withUnsafeBufferPointer {
            nws_json_keys_init(self.keys, $0.baseAddress, $0.count)
        }
    }

    deinit {
        keys.deallocate()
        names.forEach { free($0) }
    }

    /// Validates `text` as one JSON object and lends `body` where the values of the keys lie
    /// (indexed as the keys were given), or nil when the text is not one object or repeats a
    /// key of the set.
    @inline(__always)
    package func scan<R>(_ text: UnsafeRawBufferPointer, _ body: (JSONMembers?) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(of: nws_json_member.self, capacity: Int(NWS_JSON_MAX_KEYS)) { out in
            let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self)
            guard nws_json_members(base, text.count, keys, out.baseAddress) == 0 else { return try body(nil) }
            return try body(JSONMembers(raw: UnsafePointer(out.baseAddress!)))
        }
    }
}

/// The members a scan found, lent for the duration of `JSONKeySet.scan`'s body.
package struct JSONMembers {
    fileprivate let raw: UnsafePointer<nws_json_member>

    package subscript(_ index: Int) -> JSONMember {
        let m = raw[index]
        return JSONMember(
            text: m.value.map { UnsafeRawBufferPointer(start: $0, count: m.len) },
            kind: JSONKind(rawValue: m.kind) ?? .absent,
            escaped: m.escaped != 0,
            safeInteger: m.is_safe_integer != 0 ? m.integer : nil)
    }
}

/// Whether bytes are one valid JSON value (RFC 8259), white space around it allowed.
package func isValidJSON(_ text: UnsafeRawBufferPointer) -> Bool {
    nws_json_validate(text.baseAddress?.assumingMemoryBound(to: UInt8.self), text.count) == 0
}
