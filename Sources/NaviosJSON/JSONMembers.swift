package import CNaviosJSON
#if canImport(Glibc)
import Glibc
#endif

/// The keys a wire protocol looks for in its objects, prepared once: a scan recognises each
/// with one load and one compare (nws_json.h), after undoing escapes when a key has any.
/// The names are the caller's: this type knows none.
package final class JSONKeySet: @unchecked Sendable {
    // @unchecked: written once in init, read-only after.
    @usableFromInline let keys: UnsafeMutablePointer<nws_json_keys>
    private let names: [UnsafeMutablePointer<CChar>]

    /// At most 8 ASCII keys of at most 32 bytes each. The object or array values of the keys in
    /// `delimitOnly` are only delimited by a scan, not validated (nws_json.h): their reader
    /// validates them.
    package init(_ keys: [String], delimitOnly: Set<String> = []) {
        precondition(Self.stringKind == UInt8(NWS_JSON_STRING.rawValue))
        precondition(keys.count <= Int(NWS_JSON_MAX_KEYS) && keys.allSatisfy { $0.utf8.count <= Int(NWS_JSON_KEY_MAX) })
        names = keys.map { strdup($0)! }
        self.keys = .allocate(capacity: 1)
        names.map { UnsafePointer($0) as UnsafePointer<CChar>? }.withUnsafeBufferPointer {
            nws_json_keys_init(self.keys, $0.baseAddress, $0.count)
        }
        for (index, key) in keys.enumerated() where delimitOnly.contains(key) {
            self.keys.pointee.delimit_only |= 1 << UInt32(index)
        }
    }

    deinit {
        keys.deallocate()
        names.forEach { free($0) }
    }

    /// Validates `text` as one JSON object and fills `out[k]` for each key `k` of the set that
    /// it has: a bit per key found, or -1 when the text is not one object or repeats a key of
    /// the set. The members point into `text`; `out` has room for every key.
    // The C side reads bytes: a raw buffer's memory is bytes (binding UInt8 to it is sound).
    /// The scanner's `NWS_JSON_STRING` kind of a member (checked in init): a constant the
    /// message path compares with, inlined.
    @inlinable package static var stringKind: UInt8 { 1 }

    @inlinable
    package func scan(_ text: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<JSONMember>) -> Int32 {
        nws_json_members(text.baseAddress?.assumingMemoryBound(to: UInt8.self), text.count, keys, out)
    }
}

/// Where one key's value lies (the scanner's own record).
package typealias JSONMember = nws_json_member



/// Whether bytes are one valid JSON value (RFC 8259), white space around it allowed.
package func isValidJSON(_ text: UnsafeRawBufferPointer) -> Bool {   // bytes, as in `scan`
    nws_json_validate(text.baseAddress?.assumingMemoryBound(to: UInt8.self), text.count) == 0
}
