#if canImport(Glibc)
import Glibc
#endif
/// The top-level shape of a JSON array: how many elements, where the first two are, and where
/// the elements after the first lie together. For wire protocols whose messages are arrays
/// (Socket.IO's events are `["name", arg, ...]`, its acks `[arg, ...]`): the elements stay in
/// the caller's bytes, and the array is validated whole, so that what a reader later takes from
/// it was valid JSON.
package struct JSONArrayShape: Equatable, Sendable {
    package var count = 0
    /// The first element, the second, and everything from the second's first byte to the last
    /// element's last byte (`,` and white space between included): the arguments after an
    /// event's name, as a JSON array once put between brackets.
    package var first = 0..<0
    package var second = 0..<0
    package var rest = 0..<0
    /// When the first element is a string: its characters between the quotes, and whether they
    /// hold an escape to undo.
    package var firstString: Range<Int>?
    package var firstStringEscaped = false

    /// The shape of the array that is the whole of `bytes` (white space around it allowed);
    /// nil when `bytes` is not exactly one valid JSON array.
    package init?(of bytes: UnsafeRawBufferPointer) {
        let span = JSONSpan(bytes)
        guard let shape = try? Self.read(span) else { return nil }
        self = shape
    }

    private init() {}

    /// Every element's bytes, for a reader that needs them all (not the per-message path);
    /// nil when `bytes` is not exactly one valid JSON array.
    package static func elements(of bytes: UnsafeRawBufferPointer) -> [Range<Int>]? {
        let span = JSONSpan(bytes)
        var elements: [Range<Int>] = []
        do {
            var p = try span.skipSpace(0)
            guard span.byte(p) == .openBracket else { return nil }
            p = try span.skipSpace(p + 1)
            if span.byte(p) == .closeBracket { return span.isBlank(from: p + 1) ? elements : nil }
            while true {
                let end = try span.skipValue(p)
                elements.append(p..<end)
                p = try span.skipSpace(end)
                switch span.byte(p) {
                case .comma: p = try span.skipSpace(p + 1)
                case .closeBracket: return span.isBlank(from: p + 1) ? elements : nil
                default: return nil
                }
            }
        } catch {
            return nil
        }
    }

    private static func read(_ span: JSONSpan) throws -> JSONArrayShape {
        var shape = JSONArrayShape()
        var p = try span.skipSpace(0)
        guard span.byte(p) == .openBracket else { throw JSONSpan.Decline() }
        p = try span.skipSpace(p + 1)
        if span.byte(p) == .closeBracket {
            guard span.isBlank(from: p + 1) else { throw JSONSpan.Decline() }
            return shape
        }
        while true {
            let start = p
            let end = try span.skipValue(p)
            switch shape.count {
            case 0:
                shape.first = start..<end
                if span.byte(start) == .quote {
                    shape.firstString = (start + 1)..<(end - 1)
                    // The string was scanned already: memchr, not a byte loop, finds an escape.
                    shape.firstStringEscaped = memchr(span.bytes.baseAddress! + start + 1, Int32(UInt8.backslash), end - 1 - start - 1) != nil
                }
            case 1:
                shape.second = start..<end
                shape.rest = start..<end
            default:
                shape.rest = shape.rest.lowerBound..<end
            }
            shape.count += 1
            p = try span.skipSpace(end)
            switch span.byte(p) {
            case .comma:
                p = try span.skipSpace(p + 1)
            case .closeBracket:
                guard span.isBlank(from: p + 1) else { throw JSONSpan.Decline() }
                return shape
            default:
                throw JSONSpan.Decline()
            }
        }
    }
}
