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

    /// At most `JSONScan.capacity` ASCII keys of at most 32 bytes each.
    package init(_ keys: [String]) {
        precondition(keys.count <= JSONScan.capacity && keys.allSatisfy { $0.utf8.count <= Int(NWS_JSON_KEY_MAX) })
        names = keys.map { strdup($0)! }
        self.keys = .allocate(capacity: 1)
        names.map { UnsafePointer($0) as UnsafePointer<CChar>? }.withUnsafeBufferPointer {
            nws_json_keys_init(self.keys, $0.baseAddress, $0.count)
        }
    }

    deinit {
        keys.deallocate()
        names.forEach { free($0) }
    }

    /// Validates `text` as one JSON object and says where the values of the keys lie (by
    /// their index in the set); not valid when the text is not one object or repeats a key of
    /// the set. The members point into `text`.
    package func scan(_ text: UnsafeRawBufferPointer) -> JSONScan {
        withUnsafeTemporaryAllocation(of: nws_json_member.self, capacity: JSONScan.capacity) { out in
            let found = nws_json_members(text.baseAddress?.assumingMemoryBound(to: UInt8.self), text.count, keys,
                                         out.baseAddress)
            var scan = JSONScan(found: found)
            guard found > 0 else { return scan }
            for index in 0..<JSONScan.capacity where found & (1 << index) != 0 {
                let m = out[index]
                scan[index] = JSONMember(
                    text: UnsafeRawBufferPointer(start: m.value, count: m.len),
                    kind: JSONKind(rawValue: m.kind) ?? .absent,
                    escaped: m.escaped != 0,
                    safeInteger: m.is_safe_integer != 0 ? m.integer : nil)
            }
            return scan
        }
    }
}

/// What one scan found: valid or not, and each key's member (absent ones have kind `.absent`).
package struct JSONScan {
    /// How many keys a set may have: the members are kept inline, not in an array.
    package static let capacity = 4
    package let isValid: Bool
    private var members: (JSONMember, JSONMember, JSONMember, JSONMember)

    init(found: Int32) {
        isValid = found >= 0
        let absent = JSONMember(text: nil, kind: .absent, escaped: false, safeInteger: nil)
        members = (absent, absent, absent, absent)
    }

    package subscript(_ index: Int) -> JSONMember {
        get {
            switch index {
            case 0: return members.0
            case 1: return members.1
            case 2: return members.2
            default: return members.3
            }
        }
        set {
            switch index {
            case 0: members.0 = newValue
            case 1: members.1 = newValue
            case 2: members.2 = newValue
            default: members.3 = newValue
            }
        }
    }
}

/// Whether bytes are one valid JSON value (RFC 8259), white space around it allowed.
package func isValidJSON(_ text: UnsafeRawBufferPointer) -> Bool {
    nws_json_validate(text.baseAddress?.assumingMemoryBound(to: UInt8.self), text.count) == 0
}
