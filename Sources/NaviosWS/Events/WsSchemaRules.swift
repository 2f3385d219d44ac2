/// The rules of a `WsSchema`, added inside its initializer's closure.
///
/// Each rule names its field twice: the `path` is the JSON key the client sent and sees in the
/// issue, the key path is where Swift reads the value. A key path cannot supply the JSON key
/// (`CodingKeys` may rename it), so the path is written out.
///
/// Optional fields (`String?`, `Int?`, `[E]?`) pass when nil unless `required: true`; a value
/// that is present is checked like a non-optional one.
///
/// String lengths are counted in UTF-16 code units, as JavaScript's `length` and zod count them:
/// a browser that checks `text.length <= 1000` before sending agrees with the server on every
/// string (an emoji counts 2, "é" as one precomposed scalar counts 1).
public struct WsSchemaRules<T> {
    typealias Check<V> = @Sendable (V, inout [WsValidationIssue]) -> Void

    var rules: [WsSchema<T>.Rule] = []

    init() {}

    // MARK: - Strings

    /// Length bounds (inclusive, UTF-16 code units) and a regular expression the string must
    /// contain a match of (anchor it with `^...$` to match the whole string, as in zod).
    /// The pattern uses Swift `Regex` syntax; an invalid pattern stops the program when the
    /// schema is built, since it is a mistake in the code, not in the client's input.
    public mutating func string(
        _ path: String, _ field: KeyPath<T, String> & Sendable,
        minLength: Int? = nil, maxLength: Int? = nil, pattern: String? = nil
    ) {
        add(field, Self.stringCheck(path, minLength: minLength, maxLength: maxLength, pattern: pattern))
    }

    /// The same for an optional string.
    public mutating func string(
        _ path: String, _ field: KeyPath<T, String?> & Sendable,
        minLength: Int? = nil, maxLength: Int? = nil, pattern: String? = nil, required: Bool = false
    ) {
        add(path, field, required: required,
            Self.stringCheck(path, minLength: minLength, maxLength: maxLength, pattern: pattern))
    }

    // MARK: - Numbers

    /// Inclusive bounds for any number type (`Int`, `Double`, ...). Two bounds rather than a
    /// range so that either side can be left open.
    public mutating func number<V: Numeric & Comparable & Sendable>(
        _ path: String, _ field: KeyPath<T, V> & Sendable, min: V? = nil, max: V? = nil
    ) {
        add(field, Self.numberCheck(path, min: min, max: max))
    }

    /// The same for an optional number.
    public mutating func number<V: Numeric & Comparable & Sendable>(
        _ path: String, _ field: KeyPath<T, V?> & Sendable,
        min: V? = nil, max: V? = nil, required: Bool = false
    ) {
        add(path, field, required: required, Self.numberCheck(path, min: min, max: max))
    }

    // MARK: - Arrays

    /// Inclusive bounds on the number of elements. To check the elements themselves, make their
    /// type `WsValidatable` and add `nested` for the array.
    public mutating func array<E>(
        _ path: String, _ field: KeyPath<T, [E]> & Sendable, minCount: Int? = nil, maxCount: Int? = nil
    ) {
        add(field, Self.countCheck(path, minCount: minCount, maxCount: maxCount))
    }

    /// The same for an optional array.
    public mutating func array<E>(
        _ path: String, _ field: KeyPath<T, [E]?> & Sendable,
        minCount: Int? = nil, maxCount: Int? = nil, required: Bool = false
    ) {
        add(path, field, required: required, Self.countCheck(path, minCount: minCount, maxCount: maxCount))
    }

    // MARK: - Nested values

    /// Runs the schema of a nested validatable value, with `path` in front of its issues'
    /// paths (`author.name`). Arrays and optionals of validatable values are validatable too,
    /// so this one rule covers `Author`, `Author?` and `[Item]` (`items.2.name`).
    public mutating func nested<U: WsValidatable>(_ path: String, _ field: KeyPath<T, U> & Sendable) {
        // The nested schema is looked up when the rule runs, not when it is added: a type that
        // contains itself (a tree of comments) would otherwise need its schema while building it.
        add(field) { value, issues in
            for issue in value.validationIssues() {
                issues.append(issue.prefixed(by: path))
            }
        }
    }

    // MARK: - Custom rules

    /// Any other check (the spec's `.refine`): `message` is reported at `path` (empty for the
    /// payload as a whole) when `isValid` returns false.
    public mutating func custom(
        _ path: String, _ message: String, _ isValid: @escaping @Sendable (T) -> Bool
    ) {
        rules.append { value, issues in
            if !isValid(value) {
                issues.append(WsValidationIssue(path: path, message: message))
            }
        }
    }

    // MARK: - Plumbing

    private mutating func add<V>(_ field: KeyPath<T, V> & Sendable, _ check: @escaping Check<V>) {
        rules.append { value, issues in check(value[keyPath: field], &issues) }
    }

    private mutating func add<V>(
        _ path: String, _ field: KeyPath<T, V?> & Sendable, required: Bool, _ check: @escaping Check<V>
    ) {
        rules.append { value, issues in
            if let present = value[keyPath: field] {
                check(present, &issues)
            } else if required {
                issues.append(WsValidationIssue(path: path, message: "missing"))
            }
        }
    }

    private static func stringCheck(
        _ path: String, minLength: Int?, maxLength: Int?, pattern: String?
    ) -> Check<String> {
        let regex = pattern.map { WsPattern($0, at: path) }
        return { string, issues in
            let length = string.utf16.count
            if let minLength, length < minLength {
                issues.append(WsValidationIssue(
                    path: path, message: "must be at least \(counted(minLength, "character"))"))
            }
            if let maxLength, length > maxLength {
                issues.append(WsValidationIssue(
                    path: path, message: "must be at most \(counted(maxLength, "character"))"))
            }
            if let regex, !regex.matches(string) {
                issues.append(WsValidationIssue(path: path, message: "must match the pattern \(regex.source)"))
            }
        }
    }

    private static func numberCheck<V: Numeric & Comparable & Sendable>(
        _ path: String, min: V?, max: V?
    ) -> Check<V> {
        { number, issues in
            if let min, number < min {
                issues.append(WsValidationIssue(path: path, message: "must be at least \(min)"))
            }
            if let max, number > max {
                issues.append(WsValidationIssue(path: path, message: "must be at most \(max)"))
            }
        }
    }

    private static func countCheck<E>(_ path: String, minCount: Int?, maxCount: Int?) -> Check<[E]> {
        { elements, issues in
            if let minCount, elements.count < minCount {
                issues.append(WsValidationIssue(
                    path: path, message: "must have at least \(counted(minCount, "item"))"))
            }
            if let maxCount, elements.count > maxCount {
                issues.append(WsValidationIssue(
                    path: path, message: "must have at most \(counted(maxCount, "item"))"))
            }
        }
    }
}

/// "1 character", "2 characters".
private func counted(_ count: Int, _ noun: String) -> String {
    count == 1 ? "1 \(noun)" : "\(count) \(noun)s"
}
