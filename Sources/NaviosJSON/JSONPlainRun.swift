/// How many bytes from `start` a JSON string holds as they are: the index of the first quote,
/// backslash or control character (below 0x20), or `count` when there is none (RFC 8259 §7).
///
/// The Swift twin of the C core's `nws_json_plain_run`, for the readers and writers that
/// generated codecs inline into the payload types' own code, which cannot call into the
/// core's module: eight bytes at a time in a 64-bit word, without a call. Each test
/// is the classic "has a zero byte" one: a borrow can flag a byte above a match, never below
/// it, so the lowest flagged byte is always the first real stop.
@inlinable @inline(__always)
func jsonPlainRun(_ start: UnsafeRawPointer, _ count: Int) -> Int {
    var index = 0
    while index &+ 8 <= count {
        let stops = jsonStops(start.loadUnaligned(fromByteOffset: index, as: UInt64.self))
        if stops != 0 { return index &+ stops.trailingZeroBitCount &>> 3 }
        index &+= 8
    }
    guard index < count else { return count }
    if count >= 8 {
        // The last eight bytes, overlapping some already found plain: those are shifted out,
        // and having no stop they flag nothing above them.
        let skipped = (8 &- (count &- index)) &* 8
        let stops = jsonStops(start.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)) &>> UInt64(skipped)
        return stops != 0 ? index &+ stops.trailingZeroBitCount &>> 3 : count
    }
    while index < count {
        let byte = start.load(fromByteOffset: index, as: UInt8.self)
        if byte == 0x22 || byte == 0x5C || byte < 0x20 { return index }
        index &+= 1
    }
    return count
}

/// The high bit of each byte of `word` (read little-endian) that may be a stop; the lowest one
/// set is the first stop.
@inlinable @inline(__always)
func jsonStops(_ raw: UInt64) -> UInt64 {
    let word = UInt64(littleEndian: raw)
    let ones: UInt64 = 0x0101_0101_0101_0101
    let quote = word ^ (ones &* 0x22)
    let backslash = word ^ (ones &* 0x5C)
    return ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (word &- ones &* 0x20) & ~word)
        & 0x8080_8080_8080_8080
}
