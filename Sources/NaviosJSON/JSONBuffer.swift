/// The bytes of one JSON text being written, and the writing of JSON's scalars into them.
///
/// A struct over raw memory, so that the message path can write a reply into stack memory
/// (`withUnsafeTemporaryAllocation`) and only a reply that outgrows it touches the heap. Both
/// writers use it: `WsJSONOutput` (a ``WsJSONCodable`` value's own codec) holds one directly,
/// the `Encodable` writer's `Sink` holds one behind its reference.
///
/// The writing of bytes and strings is inlinable, for the codecs that payload types inline.
@usableFromInline
package struct JSONBuffer {
    @usableFromInline package var base: UnsafeMutablePointer<UInt8>
    @usableFromInline package var count = 0
    @usableFromInline package var capacity: Int
    /// Whether `base` is heap memory of this buffer's (freed by `free`), not the caller's.
    @usableFromInline package var owned: Bool

    /// Writes into `memory`, which the caller owns and keeps for as long as the buffer is used;
    /// what does not fit moves to the heap.
    @inlinable
    package init(in memory: UnsafeMutableBufferPointer<UInt8>) {
        base = memory.baseAddress!
        capacity = memory.count
        owned = false
    }

    package init(capacity: Int) {
        base = .allocate(capacity: capacity)
        self.capacity = capacity
        owned = true
    }

    @inlinable
    package mutating func free() {
        if owned { base.deallocate() }
        owned = false
        capacity = 0
        count = 0
    }

    @inlinable
    package var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Forgets what was written after the first `count` bytes (a value to be written again).
    @usableFromInline
    package mutating func truncate(to count: Int) {
        precondition(count <= self.count)
        self.count = count
    }

    @inlinable @inline(__always)
    package mutating func reserve(_ extra: Int) {
        if count &+ extra > capacity { grow(extra) }
    }

    @inline(never) @usableFromInline
    package mutating func grow(_ extra: Int) {
        let size = max(capacity * 2, count + extra, 64)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
        grown.update(from: base, count: count)
        if owned { base.deallocate() }
        base = grown
        capacity = size
        owned = true
    }

    // MARK: raw bytes

    @inlinable @inline(__always)
    package mutating func put(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count &+= 1
    }

    @inlinable
    package mutating func put(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        Self.copy(source, count: bytes.count, to: base + count)
        count &+= bytes.count
    }

    /// The envelope's pieces are a few dozen bytes: copied a word at a time, with no call.
    @inlinable @inline(__always)
    package static func copy(_ source: UnsafeRawPointer, count: Int, to target: UnsafeMutablePointer<UInt8>) {
        guard count <= 64 else {
            target.update(from: source.assumingMemoryBound(to: UInt8.self), count: count)   // raw memory is bytes
            return
        }
        let out = UnsafeMutableRawPointer(target)
        guard count >= 8 else {
            // Two words that overlap as much as needed: 4 to 7 bytes as two UInt32, 2 to 3 as
            // two UInt16.
            if count >= 4 {
                out.storeBytes(of: source.loadUnaligned(as: UInt32.self), as: UInt32.self)
                out.storeBytes(of: source.loadUnaligned(fromByteOffset: count &- 4, as: UInt32.self), toByteOffset: count &- 4, as: UInt32.self)
            } else if count >= 2 {
                out.storeBytes(of: source.loadUnaligned(as: UInt16.self), as: UInt16.self)
                out.storeBytes(of: source.loadUnaligned(fromByteOffset: count &- 2, as: UInt16.self), toByteOffset: count &- 2, as: UInt16.self)
            } else if count == 1 {
                out.storeBytes(of: source.load(as: UInt8.self), as: UInt8.self)
            }
            return
        }
        var index = 0
        while index &+ 8 < count {
            out.storeBytes(of: source.loadUnaligned(fromByteOffset: index, as: UInt64.self), toByteOffset: index, as: UInt64.self)
            index &+= 8
        }
        // The last word overlaps the one before: those bytes are written twice, the same.
        out.storeBytes(of: source.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self), toByteOffset: count &- 8, as: UInt64.self)
    }

    @inlinable
    package mutating func put(_ text: StaticString) {
        text.withUTF8Buffer { put(UnsafeRawBufferPointer($0)) }
    }

    @inlinable
    package mutating func put(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { put($0) }
    }

    // MARK: scalars

    /// A JSON string, copied eight bytes at a time while none needs an escape; room for the
    /// worst case (every byte a six-byte `\u00XX`) is made once, so the copying checks no
    /// capacity.
    @inlinable
    package mutating func writeString(_ text: String) {
        // Borrowed, not copied: `withUTF8` on a `var` copy would retain the storage.
        if text.utf8.withContiguousStorageIfAvailable({ writeString(utf8: $0) }) == nil {
            var copy = text
            copy.withUTF8 { writeString(utf8: $0) }
        }
    }

    /// Eight bytes at a time: each word is stored whole and the output moves past the bytes
    /// before its first stop, if any, which is then escaped. The room reserved for the worst
    /// case covers the whole words stored past a stop.
    @inlinable
    package mutating func writeString(utf8: UnsafeBufferPointer<UInt8>) {
        let length = utf8.count
        reserve(length &* 6 &+ 10)   // and a word's slack for the last one
        var out = base + count
        out.pointee = UInt8(ascii: "\"")
        out += 1
        if let start = utf8.baseAddress {
            let source = UnsafeRawPointer(start)
            var p = 0
            while p &+ 8 <= length {
                let word = source.loadUnaligned(fromByteOffset: p, as: UInt64.self)
                UnsafeMutableRawPointer(out).storeBytes(of: word, as: UInt64.self)
                let stops = jsonStops(word)
                if stops == 0 {
                    out += 8
                    p &+= 8
                    continue
                }
                let plain = stops.trailingZeroBitCount &>> 3
                out = Self.writeEscape(start[p &+ plain], at: out + plain)
                p &+= plain &+ 1
            }
            if p < length && length >= 8 {
                // The rest in the last word, read overlapping bytes already written: shifted
                // out, they flag nothing. Without a stop, stored whole (the slack takes the
                // word's other bytes).
                let shift = UInt64((8 &- (length &- p)) &* 8)
                let word = source.loadUnaligned(fromByteOffset: length &- 8, as: UInt64.self)
                if jsonStops(word) &>> shift == 0 {
                    UnsafeMutableRawPointer(out).storeBytes(of: UInt64(littleEndian: UInt64(littleEndian: word) &>> shift), as: UInt64.self)
                    out += length &- p
                    p = length
                }
            }
            while p < length {
                let byte = start[p]
                if byte == 0x22 || byte == 0x5C || byte < 0x20 {
                    out = Self.writeEscape(byte, at: out)
                } else {
                    out.pointee = byte
                    out += 1
                }
                p &+= 1
            }
        }
        out.pointee = UInt8(ascii: "\"")
        count = out + 1 - base
    }

    /// The escape of a byte that cannot stand in a string as it is; returns where it ends.
    @usableFromInline
    package static func writeEscape(_ byte: UInt8, at out: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        out[0] = UInt8(ascii: "\\")
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            out[1] = byte
            return out + 2
        case 0x0A:
            out[1] = UInt8(ascii: "n")
            return out + 2
        case 0x0D:
            out[1] = UInt8(ascii: "r")
            return out + 2
        case 0x09:
            out[1] = UInt8(ascii: "t")
            return out + 2
        default:
            let hex: StaticString = "0123456789abcdef"
            out[1] = UInt8(ascii: "u")
            out[2] = UInt8(ascii: "0")
            out[3] = UInt8(ascii: "0")
            out[4] = hex.utf8Start[Int(byte >> 4)]
            out[5] = hex.utf8Start[Int(byte & 15)]
            return out + 6
        }
    }

    /// Decimal digits written straight into the output (no intermediate String): counted
    /// first, then written from the last, two at a time.
    @inlinable
    package mutating func writeInteger(_ value: Int64) {
        reserve(20)
        if value < 0 { put(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let digits = Self.decimalDigits(magnitude)
        var end = base + count + digits
        Self.digitPairs.withUTF8Buffer { pairs in
            while magnitude >= 100 {
                let pair = Int(truncatingIfNeeded: magnitude % 100) &* 2
                magnitude /= 100
                end -= 2
                end[0] = pairs[pair]
                end[1] = pairs[pair &+ 1]
            }
            if magnitude >= 10 {
                let pair = Int(truncatingIfNeeded: magnitude) &* 2
                end -= 2
                end[0] = pairs[pair]
                end[1] = pairs[pair &+ 1]
            } else {
                end -= 1
                end[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude)
            }
        }
        count &+= digits
    }

    /// How many decimal digits `value` has (1 for 0): a few comparisons, split in halves, where
    /// a loop would multiply once per digit (the ids of acknowledgements have five to seven).
    @inlinable @inline(__always)
    package static func decimalDigits(_ value: UInt64) -> Int {
        if value < 100_000 {
            if value < 100 { return value < 10 ? 1 : 2 }
            return value < 1_000 ? 3 : value < 10_000 ? 4 : 5
        }
        if value < 10_000_000_000 {
            if value < 10_000_000 { return value < 1_000_000 ? 6 : 7 }
            return value < 100_000_000 ? 8 : value < 1_000_000_000 ? 9 : 10
        }
        var digits = 11
        var bound: UInt64 = 100_000_000_000
        while digits < 20 && value >= bound {   // UInt64.max has 20 digits
            digits &+= 1
            bound &*= 10
        }
        return digits
    }

    /// "00" through "99", for writing integers two digits at a time.
    @usableFromInline
    package static let digitPairs: StaticString = """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """

    package mutating func writeUnsigned(_ value: UInt64) {
        if let signed = Int64(exactly: value) { return writeInteger(signed) }
        put(Array(String(value).utf8))
    }

    /// Integral values as integers, as JSONEncoder writes them ("3", not "3.0"); a non-finite
    /// number throws (JSON has none).
    package mutating func writeDouble(_ value: Double) throws {
        guard value.isFinite else { throw WsJSONWriter.Unsupported() }
        if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
            writeInteger(Int64(value))
        } else {
            put(Array(value.description.utf8))
        }
    }

    /// A Float in its own shortest form ("0.1", where widening to Double would write
    /// "0.10000000149011612").
    package mutating func writeFloat(_ value: Float) throws {
        guard value.isFinite else { throw WsJSONWriter.Unsupported() }
        if value == value.rounded(), abs(value) < 16_777_216 {
            writeInteger(Int64(value))
        } else {
            put(Array(value.description.utf8))
        }
    }
}
