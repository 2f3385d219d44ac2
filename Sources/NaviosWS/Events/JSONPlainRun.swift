/// How many bytes from `start` a JSON string holds as they are: the index of the first quote,
/// backslash or control character (below 0x20), or `count` when there is none (RFC 8259 §7).
///
/// Eight bytes at a time in a 64-bit word, so that the readers and writers that generated
/// codecs inline into the payload types' own code find string ends without a call. Each test
/// is the classic "has a zero byte" one: a borrow can flag a byte above a match, never below
/// it, so the lowest flagged byte is always the first real stop.
@inlinable @inline(__always)
func jsonPlainRun(_ start: UnsafeRawPointer, _ count: Int) -> Int {
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    var index = 0
    while index &+ 8 <= count {
        let word = UInt64(littleEndian: start.loadUnaligned(fromByteOffset: index, as: UInt64.self))
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let stops = ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (word &- ones &* 0x20) & ~word) & highs
        if stops != 0 { return index &+ stops.trailingZeroBitCount &>> 3 }
        index &+= 8
    }
    while index < count {
        let byte = start.load(fromByteOffset: index, as: UInt8.self)
        if byte == 0x22 || byte == 0x5C || byte < 0x20 { return index }
        index &+= 1
    }
    return count
}
