#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing
@testable import NaviosWS
@testable import NaviosJSON

/// `jsonPlainRun` reads eight bytes at a time, with an overlapping last word: it must stop
/// where a byte-by-byte scan stops, for every length, every stop position and every kind of
/// stop, with and without other stops and non-ASCII bytes after the first.
@Suite struct JSONPlainRunTests {
    static func reference(_ bytes: [UInt8]) -> Int {
        bytes.firstIndex { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 } ?? bytes.count
    }

    static func run(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { jsonPlainRun($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, $0.count) }
    }

    @Test func stopsAtTheFirstQuoteBackslashOrControlByte() {
        let stops: [UInt8] = [0x22, 0x5C, 0x00, 0x01, 0x0A, 0x1F]
        let fillers: [UInt8] = [0x61, 0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7F, 0x80, 0xA2, 0xDC, 0xFF]
        for length in 0...40 {
            for filler in fillers {
                let plain = [UInt8](repeating: filler, count: length)
                #expect(Self.run(plain) == length)
                for position in 0..<length {
                    for stop in stops {
                        var bytes = plain
                        bytes[position] = stop
                        if position + 3 < length { bytes[position + 3] = 0x22 }   // a later stop
                        #expect(Self.run(bytes) == Self.reference(bytes), "length \(length) stop \(stop) at \(position)")
                    }
                }
            }
        }
    }

    /// The writer copies a word at a time and escapes at the first stop in it: every length and
    /// escape position must come back as the same string through JSONDecoder.
    @Test func stringsWithAnEscapeAtEveryPositionRoundTrip() throws {
        let specials: [Character] = ["\"", "\\", "\n", "\u{1}", "\u{1F}", "\t", "é", "✓"]
        for length in 0...40 {
            for position in 0..<max(length, 1) {
                for special in specials {
                    var text = String(repeating: "a", count: length)
                    if length > 0 {
                        var characters = Array(text)
                        characters[position] = special
                        if position + 9 < length { characters[position + 9] = "\\" }
                        text = String(characters)
                    }
                    let json = try WsJSONWriter.encode(text)
                    #expect(try JSONDecoder().decode(String.self, from: Data(json)) == text, "\(text.debugDescription)")
                }
            }
        }
    }
}
