/// A regular expression of a string rule, compiled once when the schema is built and then
/// matched from every loop thread.
///
/// `Regex` is not `Sendable` only because its generic output may not be; a
/// `Regex<AnyRegexOutput>` is immutable after construction and compiles its program lazily
/// through an atomic once-initialisation, so sharing it across threads is safe. Hence the
/// unchecked conformance, rather than compiling the pattern again for every message.
struct WsPattern: @unchecked Sendable {
    /// The pattern as written, quoted back to the client when a string does not match.
    let source: String
    private let regex: Regex<AnyRegexOutput>

    init(_ source: String, at path: String) {
        do {
            regex = try Regex(source)
        } catch {
            preconditionFailure("WsSchema: the pattern \"\(source)\" for \"\(path)\" is not a valid regular expression: \(error)")
        }
        self.source = source
    }

    /// Whether `string` contains a match, like JavaScript's `RegExp.test` that zod uses.
    func matches(_ string: String) -> Bool {
        string.contains(regex)
    }
}
