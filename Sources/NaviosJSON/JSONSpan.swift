internal import CNaviosJSON
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The scanning of one JSON span: where its values start and end, and its scalars as
/// JSONDecoder would decode them. Anything it cannot read exactly so, or that is not JSON,
/// throws `Decline`: what it reads it also validates, so a reader that succeeds has read valid
/// JSON (a payload is delimited, not validated, by the envelope scan: nws_json.h). A struct
/// with no state but the span, so that a reader (`WsJSONReader`) costs no allocation;
/// `WsSpanDecoder` wraps it for `Decodable` types, over spans validated before.
@usableFromInline
struct JSONSpan {
    @usableFromInline
    struct Decline: Error {
        @usableFromInline init() {}
    }

    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline let end: Int

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        end = bytes.count
    }

    @inlinable @inline(__always)
    func byte(_ position: Int) -> UInt8 {
        position < end ? bytes[position] : 0
    }

    @inlinable @inline(__always)
    func skipSpace(_ position: Int) throws -> Int {
        var p = position
        while p < end {
            switch bytes[p] {
            case 0x20, 0x09, 0x0A, 0x0D: p &+= 1   // space, tab, newline, carriage return
            default: return p
            }
        }
        throw JSONSpan.Decline()
    }

    /// Whether nothing but white space is left from `position` on.
    func isBlank(from position: Int) -> Bool {
        position >= end || (try? skipSpace(position)) == nil   // skipSpace finds no byte after the spaces
    }

    func isNull(at position: Int) -> Bool {
        byte(position) == UInt8(ascii: "n") && has("null", at: position)
    }

    func bool(at position: Int) throws -> Bool {
        switch byte(position) {
        case UInt8(ascii: "t") where has("true", at: position): return true
        case UInt8(ascii: "f") where has("false", at: position): return false
        default: throw JSONSpan.Decline()
        }
    }

    /// Whether the literal `word` is written at `position`.
    private func has(_ word: StaticString, at position: Int) -> Bool {
        let count = word.utf8CodeUnitCount
        guard position + count <= end else { return false }
        return word.withUTF8Buffer { utf8 in (0..<count).allSatisfy { bytes[position + $0] == utf8[$0] } }
    }

    /// The length of the one valid JSON value at `position` (validated by the C scanner), for
    /// what is skipped or handed whole to another decoder.
    func validValueLength(at position: Int) throws -> Int {
        guard position < end, let base = bytes.baseAddress else { throw JSONSpan.Decline() }
        let length = nws_json_skip(base.assumingMemoryBound(to: UInt8.self) + position, end - position)   // bytes
        guard length > 0 else { throw JSONSpan.Decline() }
        return length
    }

    /// A string value. The span was validated as JSON (and its text as UTF-8) by the C core,
    /// so only the closing quote and the escapes need finding.
    func string(at position: Int) throws -> String {
        var next = 0
        return try string(at: position, next: &next)
    }

    /// The same, and where the value ends (just past its closing quote) in `next`.
    @inlinable @inline(__always)
    func string(at position: Int, next: inout Int) throws -> String {
        guard byte(position) == 0x22 else { throw JSONSpan.Decline() }
        let p = plainRun(from: position &+ 1)
        switch byte(p) {
        case 0x22:
            next = p &+ 1
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(position &+ 1)..<p]), as: UTF8.self)
        case 0x5C:
            return try unescapedString(from: position &+ 1, next: &next)
        default:
            throw JSONSpan.Decline()
        }
    }

    /// The position of the first byte from `position` on that is a quote, a backslash or a
    /// control character (or the end).
    @inlinable @inline(__always)
    func plainRun(from position: Int) -> Int {
        guard position < end, let base = bytes.baseAddress else { return position }
        return position &+ jsonPlainRun(base + position, end &- position)
    }

    @usableFromInline
    func unescapedString(from first: Int, next: inout Int) throws -> String {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var p = first
        while p < end {
            let c = bytes[p]
            if c == .quote {
                next = p + 1
                return String(decoding: out, as: UTF8.self)
            }
            p += 1
            guard c == .backslash else {
                guard c >= 0x20 else { throw JSONSpan.Decline() }   // raw control characters are not JSON
                out.append(c)
                continue
            }
            guard p < end else { throw JSONSpan.Decline() }
            let escape = bytes[p]
            p += 1
            switch escape {
            case .quote, .backslash, .slash: out.append(escape)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(at: p)
                p += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one.
                    guard byte(p) == .backslash, byte(p + 1) == UInt8(ascii: "u") else { throw JSONSpan.Decline() }
                    let low = try hex4(at: p + 2)
                    guard (0xDC00..<0xE000).contains(low) else { throw JSONSpan.Decline() }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    p += 6
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw JSONSpan.Decline()
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw JSONSpan.Decline() }
                out.append(contentsOf: UTF8.encode(unicode)!)
            default: throw JSONSpan.Decline()
            }
        }
        throw JSONSpan.Decline()
    }

    private func hex4(at position: Int) throws -> UInt32 {
        guard position + 4 <= end else { throw JSONSpan.Decline() }
        var value: UInt32 = 0
        for i in 0..<4 {
            let c = bytes[position + i]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw JSONSpan.Decline()
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// An integer written as plain digits (no fraction, no exponent, no "-0"), in range.
    func integer<I: FixedWidthInteger>(_ type: I.Type, at position: Int) throws -> I {
        var after = 0
        return try integer(I.self, at: position, after: &after)
    }

    /// The same, and where the number ends in `after`: a reader moves on without a second scan.
    func integer<I: FixedWidthInteger>(_ type: I.Type, at position: Int, after: inout Int) throws -> I {
        var p = position
        let negative = byte(p) == .minus
        if negative {
            guard I.isSigned, byte(p + 1) != UInt8(ascii: "0") else { throw JSONSpan.Decline() }
            p += 1
        }
        var value: I = 0
        var digits = 0
        while p < end, case let c = bytes[p], c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
            let digit = I(c - UInt8(ascii: "0"))
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !o1, !o2 else { throw JSONSpan.Decline() }
            value = next
            digits += 1
            p += 1
        }
        let first = byte(negative ? position + 1 : position)
        guard digits > 0, !Self.continuesNumber(byte(p)), first != UInt8(ascii: "0") || digits == 1 else {
            throw JSONSpan.Decline()   // a fraction or an exponent, or a leading zero (not JSON)
        }
        after = p
        return value
    }

    /// A finite number. Swift's parsers are correctly rounded, as JSONDecoder's are; a value
    /// too large for the type declines (JSONDecoder refuses it).
    func double(at position: Int) throws -> Double {
        var after = 0
        return try floatingPoint(Double.self, at: position, after: &after)
    }

    func float(at position: Int) throws -> Float {
        var after = 0
        return try floatingPoint(Float.self, at: position, after: &after)
    }

    /// A number of type `F`, and where it ends in `after`.
    func floatingPoint<F: BinaryFloatingPoint & LosslessStringConvertible>(
        _ type: F.Type, at position: Int, after: inout Int
    ) throws -> F {
        // JSON's grammar first (Swift's parser also takes "+1", ".5", "1."); then its value.
        guard Self.isNumberByte(byte(position)) else { throw JSONSpan.Decline() }
        let p = position + (try validValueLength(at: position))
        after = p
        guard let value = F(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<p]), as: UTF8.self)),
              value.isFinite
        else { throw JSONSpan.Decline() }
        return value
    }

    private static func isNumberByte(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == .minus || continuesNumber(c)
    }

    private static func continuesNumber(_ c: UInt8) -> Bool {
        c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") || c == UInt8(ascii: "+")
    }

    /// The position just after the valid JSON value that starts at `position`.
    func skipValue(_ position: Int) throws -> Int {
        position + (try validValueLength(at: position))
    }

    /// The position just after the value that starts at `position`, in a span validated before:
    /// only its end is looked for.
    func skipValidatedValue(_ position: Int) throws -> Int {
        switch byte(position) {
        case .quote:
            var p = position + 1
            while p < end {
                p = plainRun(from: p)
                switch byte(p) {
                case .quote: return p + 1
                case .backslash: p += 2
                default: p += 1   // a control character: the C core refused those already
                }
            }
            throw JSONSpan.Decline()
        case .openBrace, .openBracket:
            // Strings are skipped whole, so brackets inside them do not count.
            var depth = 0
            var p = position
            while p < end {
                switch bytes[p] {
                case .quote:
                    p = try skipValidatedValue(p)
                    continue
                case .openBrace, .openBracket: depth += 1
                case .closeBrace, .closeBracket:
                    depth -= 1
                    if depth == 0 { return p + 1 }
                default: break
                }
                p += 1
            }
            throw JSONSpan.Decline()
        default:
            // A number or a literal: up to the next delimiter.
            var p = position
            while p < end {
                switch bytes[p] {
                case .comma, .closeBrace, .closeBracket, .space, .tab, .newline, .carriageReturn: return p
                default: p += 1
                }
            }
            return p
        }
    }
}

extension UInt8 {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let minus = UInt8(ascii: "-")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
}
