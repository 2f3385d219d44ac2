#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing
@testable import NaviosWS
@testable import NaviosJSON

/// A @WsJSONCodable type must decode as JSONDecoder decodes it whenever its reader succeeds,
/// decline the rest (so the Codable path answers, errors included), and encode exactly as the
/// gateway's Codable writer does.
@Suite struct WsJSONCodableTests {
    @WsJSONCodable
    struct Inner: Codable, Equatable, Sendable {
        var name: String
        var tags: [String]
        var score: Double?
    }

    enum Level: String, Codable, Equatable, Sendable { case low, high }

    @WsJSONCodable
    struct Outer: Codable, Equatable, Sendable {
        var id: Int
        var ok: Bool
        var ratio: Double
        var text: String
        var inner: Inner
        var list: [Inner]
        var map: [String: Int]      // no codec of its own: through Decodable/Encodable
        var missing: String?
        var small: Int8
        var unsigned: UInt16
        var level: Level            // likewise
        var float: Float
        var grid: [[Int]]
        var holes: [Int?]
        let version = 3             // written, never read (as a synthesized Codable does)
        var `default`: Bool
    }

    @WsJSONCodable
    struct Count: Codable, Equatable, Sendable { var n: Int }

    @WsJSONCodable
    struct Numbers: Codable, Equatable {
        var f: Float; var d: Double; var u: UInt64; var i: Int64; var whole: Double
    }

    @WsJSONCodable
    struct Ratio: Codable { var r: Double }

    /// Members that are all optional: written as `{}` when all are nil, and the member after it
    /// still needs its comma.
    @WsJSONCodable
    struct Sparse: Codable, Equatable { var a: Int?; var b: [String?]? }

    @WsJSONCodable
    struct Holder: Codable, Equatable { var first: Sparse; var second: Sparse; var after: Int; var last: Sparse? }

    /// The reader's value next to JSONDecoder's (nil: the reader declined, or JSONDecoder failed).
    static func both<T: WsJSONCodable & Equatable>(_ type: T.Type, _ json: String) -> (reader: T?, foundation: T?) {
        let bytes = Array(json.utf8)
        let reader = bytes.withUnsafeBytes { try? WsJSONReader.decode(T.self, from: $0) }
        let foundation = try? JSONDecoder().decode(T.self, from: Data(bytes))
        return (reader, foundation)
    }

    static let document = """
        {"id": -42, "ok": true, "ratio": 0.1e1, "text": "caf\\u00e9 \\"q\\" \\n \\ud83d\\ude00 \\/",
         "inner": {"name": "a", "tags": ["x", "y"], "score": null},
         "list": [{"name": "b", "tags": [], "score": 2.5}, {"tags": ["z"], "name": "c"}], "map": {"k": 1, "l": -2},
         "small": -128, "unsigned": 65535, "level": "high", "float": 3.25, "extra": [1, {"z": "]"}],
         "grid": [[1, 2], [], [3]], "holes": [1, null, 2], "version": 9, "default": false}
        """

    @Test func aNestedValueDecodesAsJSONDecoderDecodesIt() {
        let (reader, foundation) = Self.both(Outer.self, Self.document)
        #expect(foundation != nil)
        #expect(reader == foundation)
        #expect(reader?.version == 3)
        #expect(reader?.missing == nil)
        #expect(reader?.list[1].score == nil)   // a missing optional member
    }

    /// One-letter keys (a literal the compiler may hold as a scalar) and objects whose members
    /// are all optional.
    @Test func shortKeysAndAllOptionalObjectsAreRead() {
        #expect(Self.both(Count.self, #"{"n": 5}"#).reader == Count(n: 5))
        let json = #"{"first": {}, "second": {"a": 1, "b": [null, "x"]}, "after": 2, "last": null}"#
        let (reader, foundation) = Self.both(Holder.self, json)
        #expect(foundation != nil)
        #expect(reader == foundation)
    }

    /// What the reader must not decide alone: each declines, and the Codable path gives the same
    /// answer as for a plain Codable type.
    @Test(arguments: [
        #"{"n": 1.0}"#,            // an integer written with a fraction
        #"{"n": 1e2}"#,            // or an exponent
        #"{"n": -0}"#,             // negative zero
        #"{"n": 9223372036854775808}"#,   // out of range
        #"{"n": "1"}"#,            // a string for a number
        #"{"\u006e": 1}"#,         // an escaped key
        #"{"n": 1, "n": 2}"#,      // a repeated key
        #"{}"#,                    // a missing key
        #"{"n": null}"#,           // null for a value
        #"[1]"#,                   // not an object
    ])
    func inputsItCannotDecideAloneDecline(json: String) {
        #expect(Self.both(Count.self, json).reader == nil)
        struct PlainCount: Codable, Equatable { var n: Int }
        let bytes = Array(json.utf8)
        let codable = bytes.withUnsafeBytes { bytes in
            Result { () throws(WsPayloadError) -> Count in try WsPayloadDecoding.decodeCodable(Count.self, from: bytes, validating: false) }
        }
        let plain = bytes.withUnsafeBytes { bytes in
            Result { () throws(WsPayloadError) -> PlainCount in try WsPayloadDecoding.decode(PlainCount.self, from: bytes) }
        }
        switch (codable, plain) {
        case (.success(let a), .success(let b)): #expect(a.n == b.n)
        case (.failure(let a), .failure(let b)): #expect(a == b)
        default: Issue.record("the codec path and the Codable path disagree on \(json): \(codable) \(plain)")
        }
    }

    /// The envelope scan only delimits an object payload: its reader validates what it reads.
    /// Invalid JSON never decodes, by the reader or by the path it declines to.
    @Test(arguments: [
        #"{"n": 1,}"#, #"{"n": 1} x"#, #"{"n": 01}"#, #"{"n": +1}"#, #"{"n": tru}"#, #"{"n" 1}"#,
        #"{"n": 1 "m": 2}"#, #"{"n": 1, "x": [1,]}"#, #"{"n": 1, "x": {"a":}}"#, #"{"n": 1, "x": nul}"#,
        #"{"n": 1, "x": "\q"}"#, "{\"n\": 1, \"x\": \"a\\n\u{01}\"}", #"{"n": 1, "x": .5}"#, #"{"n": 1, "x": 1.}"#,
    ])
    func invalidJsonIsRefusedWhereverItIs(json: String) {
        let bytes = Array(json.utf8)
        #expect(!bytes.withUnsafeBytes(isValidJSON), "the case itself must be invalid JSON")
        #expect(Self.both(Count.self, json).reader == nil)
        let decoded = bytes.withUnsafeBytes { bytes in
            Result { () throws(WsPayloadError) -> Count in try WsPayloadDecoding.decodeCodable(Count.self, from: bytes, validating: false) }
        }
        #expect(throws: WsPayloadError.self) { try decoded.get() }
    }

    /// Bytes changed at random in a valid document: whenever the reader still decodes it, the
    /// text is valid JSON (the C validator's verdict). Bounded: 20,000 variants, a fixed seed.
    @Test func whateverTheReaderAcceptsIsValidJson() {
        var random = SplitMix(seed: 0x5eed)
        let original = Array(Self.document.utf8)
        let alphabet = Array(#"{}[]:,"\ 0123456789.eE+-tfnulrsa"#.utf8) + [0x01, 0x0A]
        var accepted = 0
        for _ in 0..<20_000 {
            var text = original
            for _ in 0..<(1 + Int(random.next() % 3)) {
                let at = Int(random.next() % UInt64(text.count))
                switch random.next() % 3 {
                case 0: text[at] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                case 1: text.remove(at: at)
                default: text.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: at)
                }
            }
            let decoded = text.withUnsafeBytes { try? WsJSONReader.decode(Outer.self, from: $0) }
            if decoded != nil {
                accepted += 1
                #expect(text.withUnsafeBytes(isValidJSON), "accepted invalid JSON: \(String(decoding: text, as: UTF8.self))")
            }
        }
        #expect(accepted > 100, "the variants must still decode often enough to test something")
    }

    @Test func anAbsentPayloadIsMissingAsForCodable() {
        let error = Result { () throws(WsPayloadError) -> Count in try WsPayloadDecoding.decodeCodable(Count.self, from: nil, validating: false) }
        #expect(throws: WsPayloadError.self) { try error.get() }
        if case .failure(let failure) = error { #expect(failure.message == "payload is missing") }
    }

    /// The acknowledgement the JSON protocol writes of a value by the value's own codec, next
    /// to the one the Codable writer makes of the same value.
    static func envelopes<T: WsJSONCodable>(_ value: T) throws -> (codec: String, codable: String) {
        let wire = WsJSONEnvelope.self
        let prefix = wire.ackPrefix(event: "e\n\"v", namespace: "/")
        var buffer = JSONBuffer(capacity: 64)
        defer { buffer.free() }
        try wire.writeAck(1, prefix: prefix, into: &buffer) { buffer in
            var output = WsJSONOutput(buffer)
            defer { buffer = output.buffer }
            try value.encode(wsJSON: &output)
        }
        let codec = String(decoding: buffer.bytes, as: UTF8.self)
        buffer.truncate(to: 0)
        try wire.writeAck(1, prefix: prefix, into: &buffer) { try WsJSONWriter.write(value, into: &$0) }
        return (codec, String(decoding: buffer.bytes, as: UTF8.self))
    }

    @Test func encodesExactlyAsTheCodableWriter() throws {
        let value = try JSONDecoder().decode(Outer.self, from: Data(Self.document.utf8))
        let (codec, codable) = try Self.envelopes(value)
        #expect(codec == codable)
        #expect(!codec.contains("missing"))            // nil optional members are left out
        #expect(codec.contains(#""holes":[1,null,2]"#)) // nil elements are null
        #expect(codec.contains(#""version":3"#))
        #expect(codec.contains(#""default":false"#))
        // And it is the value JSONEncoder would write.
        let envelope = try JSONDecoder().decode(WsJSONValue.self, from: Data(codec.utf8))
        let expected = try JSONDecoder().decode(WsJSONValue.self, from: JSONEncoder().encode(value))
        #expect(envelope["data"] == expected)
    }

    @Test func floatsAndIntegersAtTheirExtremes() throws {
        let value = Numbers(f: 0.1, d: -2.5e-300, u: .max, i: .min, whole: 1e15)
        let (codec, codable) = try Self.envelopes(value)
        #expect(codec == codable)
        #expect(codec.contains(#""f":0.1,"#))
        struct Reply: Decodable { var data: Numbers }
        #expect(try JSONDecoder().decode(Reply.self, from: Data(codec.utf8)).data == value)
    }

    @Test func nestedObjectsWhoseMembersAreAllNilKeepTheirCommas() throws {
        let values = [
            Holder(first: Sparse(a: nil, b: nil), second: Sparse(a: nil, b: nil), after: 1, last: nil),
            Holder(first: Sparse(a: 1, b: nil), second: Sparse(a: nil, b: [nil, "x"]), after: 2, last: Sparse(a: nil, b: [])),
        ]
        for value in values {
            let (codec, codable) = try Self.envelopes(value)
            #expect(codec == codable)
            struct Reply: Decodable { var data: Holder }
            #expect(try JSONDecoder().decode(Reply.self, from: Data(codec.utf8)).data == value)
        }
        #expect(try Self.envelopes(values[0]).codec.contains(#""data":{"first":{},"second":{},"after":1}"#))
    }

    /// A value its codec cannot write (a non-finite number) goes the Codable way, which refuses it.
    @Test func aNonFiniteNumberFallsBackAndFails() {
        var output = WsJSONOutput(JSONBuffer(capacity: 16))
        defer { output.buffer.free() }
        #expect(throws: (any Error).self) { try Ratio(r: .nan).encode(wsJSON: &output) }
        #expect(throws: (any Error).self) { try JSONEncoding.encode(Ratio(r: .infinity)) }
    }
}

/// A small deterministic generator (SplitMix64) for the mutation test.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
