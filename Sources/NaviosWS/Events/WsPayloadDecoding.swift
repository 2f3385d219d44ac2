#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns the `data` member of an envelope into a handler's payload, or into the `WsPayloadError`
/// the client is sent instead. The only place payloads are decoded, so every event reports bad
/// input the same way.
public enum WsPayloadDecoding {
    /// One decoder for every loop thread. JSONDecoder (swift-foundation) is `@unchecked
    /// Sendable`: its options sit behind a lock and each `decode` call keeps its state in a
    /// per-call scanner and decoder. It stays private and its options are never changed, so all
    /// payloads decode with the defaults clients expect, and no allocation of a decoder per
    /// message.
    /// `Data` decodes from base64 text (JSONDecoder's default) or from an array of byte values
    /// (a Socket.IO attachment, see ``decodeBinary``).
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dataDecodingStrategy = .custom { decoder in
            if let bytes = try? [UInt8](from: decoder) { return Data(bytes) }
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                        debugDescription: "Encountered Data is not valid Base64."))
            }
            return data
        }
        return decoder
    }()

    /// What an absent `data` member decodes as.
    private static let null = Data("null".utf8)

    /// Decodes `json` (the raw JSON text of the envelope's `data` member; nil when the envelope
    /// had none, which decodes as JSON `null`, so `Optional` payloads become nil and
    /// `WsNoResponse` works, while a struct payload fails with "missing"), then runs the type's
    /// schema when it is `WsValidatable` (arrays and optionals of such types included).
    ///
    /// The buffer may be reused by the caller as soon as this returns.
    public static func decode<P: Decodable>(
        _ type: P.Type, from json: UnsafeRawBufferPointer?
    ) throws(WsPayloadError) -> P {
        try decode(P.self, from: json, validating: P.self is any WsValidatable.Type)
    }

    /// The same for a handler's payload, which may be the event's arguments as they came
    /// (``WsArguments``: then `json` is the arguments' array, and `attachments` their bytes).
    @inlinable
    static func decode<P: Decodable>(
        _ type: P.Type, from json: UnsafeRawBufferPointer?, attachments: WsAttachments?, validating: Bool
    ) throws(WsPayloadError) -> P {
        if P.self == WsArguments.self { return try arguments(json, attachments) as! P }
        if let attachments, let json { return try decodeBinary(P.self, from: json, attachments, validating: validating) }
        return try decode(P.self, from: json, validating: validating)
    }

    /// A payload with binary values (Socket.IO attachments): each placeholder
    /// `{"_placeholder":true,"num":N}` is replaced by attachment N as an array of byte values,
    /// which a `[UInt8]` decodes as it is and a `Data` through ``decoder``'s strategy.
    @usableFromInline
    static func decodeBinary<P: Decodable>(
        _ type: P.Type, from json: UnsafeRawBufferPointer, _ binary: WsAttachments, validating: Bool
    ) throws(WsPayloadError) -> P {
        let attachments = binary.buffers
        func resolve(_ value: WsJSONValue) -> WsJSONValue {
            switch value {
            case .array(let items): return .array(items.map(resolve))
            case .object(let members):
                if members.count == 2, members["_placeholder"] == .bool(true), let num = members["num"]?.numberValue,
                   let index = Int(exactly: num), attachments.indices.contains(index) {
                    return .array(attachments[index].map { .number(Double($0)) })
                }
                return .object(members.mapValues(resolve))
            default: return value
            }
        }
        let value = try decode(WsJSONValue.self, from: json, validating: false)
        guard let resolved = try? JSONEncoding.encode(resolve(value)) else {
            throw WsPayloadError(message: "payload is not valid JSON", issues: [issue([], "not valid JSON")])
        }
        var result: Result<P, WsPayloadError>!
        resolved.withUnsafeBytes { bytes in
            do throws(WsPayloadError) {
                result = .success(try decode(P.self, from: bytes, validating: validating))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }

    @usableFromInline
    static func arguments(_ json: UnsafeRawBufferPointer?, _ attachments: WsAttachments?) throws(WsPayloadError) -> WsArguments {
        guard let arguments = WsArguments(json: json.map(Array.init) ?? Array("[]".utf8), attachments: attachments?.buffers ?? [])
        else { throw WsPayloadError(message: "payload is not valid JSON", issues: [issue([], "not valid JSON")]) }
        return arguments
    }

    /// The codec is chosen by the type: its own (``WsJSONCodable``) when it has one, else
    /// `Decodable`. Where `P` is known (a handler specialised in the module that defines the
    /// gateway) the check and the cast fold away, leaving a direct call of the chosen decoder.
    @inlinable
    static func decode<P: Decodable>(
        _ type: P.Type, from json: UnsafeRawBufferPointer?, validating: Bool
    ) throws(WsPayloadError) -> P {
        if let codable = P.self as? any WsJSONCodable.Type {
            return try codable.decodePayload(as: P.self, from: json, validating: validating)
        }
        return try decodeDelimited(P.self, from: json, validating: validating)
    }

    /// A ``WsJSONCodable`` payload: read by its own codec, and through `Decodable` (whose
    /// value or error is the answer) whenever that declines.
    @inlinable
    static func decodeCodable<P: WsJSONCodable>(
        _ type: P.Type, from json: UnsafeRawBufferPointer?, validating: Bool
    ) throws(WsPayloadError) -> P {
        if let json, let value = try? WsJSONReader.decode(P.self, from: json) {
            if validating { try check(value, true) }   // no call at all for a type without a schema
            return value
        }
        return try decodeDelimited(P.self, from: json, validating: validating)
    }

    /// A payload span the envelope scan delimited but did not validate (a type's own reader
    /// validates as it reads): validated here, by the one validator (JSONDecoder would take some
    /// invalid JSON: a trailing comma, "1."), then read in place by WsSpanDecoder; whatever that
    /// declines, JSONDecoder decodes from a copy, and its value or error is the answer. Whether
    /// `P` has a schema (`validating`) was settled once, when the handler was registered.
    @usableFromInline
    static func decodeDelimited<P: Decodable>(
        _ type: P.Type, from json: UnsafeRawBufferPointer?, validating: Bool
    ) throws(WsPayloadError) -> P {
        if let json {
            guard isValidJSON(json) else {
                throw WsPayloadError(message: "payload is not valid JSON", issues: [issue([], "not valid JSON")])
            }
            // do/catch rather than `try?`: an optional of a generic type is a metadata lookup at
            // run time, on every message.
            do {
                let value = try decodeInPlace(P.self, from: json)
                try check(value, validating)
                return value
            } catch let error as WsPayloadError {
                throw error
            } catch {}
        }
        let value = try foundationDecode(P.self, from: json)
        try check(value, validating)
        return value
    }

    /// Throws what the value's schema (when `validating`) found wrong. The value is borrowed:
    /// a function that took and returned it would copy it, a retain per string it holds.
    @usableFromInline
    static func check<P>(_ value: P, _ validating: Bool) throws(WsPayloadError) {
        if validating, let validatable = value as? any WsValidatable {
            let issues = validatable.validationIssues()
            if !issues.isEmpty {
                throw WsPayloadError(message: "payload failed validation", issues: issues)
            }
        }
    }

    /// JSONDecoder over a copy of the bytes, its errors turned into what the client is told.
    private static func foundationDecode<P: Decodable>(
        _ type: P.Type, from json: UnsafeRawBufferPointer?
    ) throws(WsPayloadError) -> P {
        let data: Data
        if let json {
            data = json.baseAddress.map { Data(bytes: $0, count: json.count) } ?? Data()
        } else {
            data = null
        }
        do {
            return try decoder.decode(P.self, from: data)
        } catch {
            throw failure(error, in: data, absent: json == nil)
        }
    }

    /// The client-facing form of a decoding error: one issue with the path JSONDecoder was at
    /// and a short message that names what was expected, never Swift type names.
    private static func failure(_ error: any Error, in data: Data, absent: Bool) -> WsPayloadError {
        let shape = "payload does not have the expected shape"
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?:
            return WsPayloadError(
                message: shape, issues: [issue(context.codingPath + [key], "missing")])

        case .valueNotFound(let type, let context)?:
            if absent && context.codingPath.isEmpty {
                return WsPayloadError(message: "payload is missing", issues: [issue([], "missing")])
            }
            // An explicit null where a value is needed. Foundation reports null as a type
            // mismatch for some types (Bool, numbers) and as a missing value for others (String,
            // objects), so both get the same message.
            return WsPayloadError(
                message: shape, issues: [issue(context.codingPath, "expected \(describe(type))")])

        case .typeMismatch(let type, let context)?:
            return WsPayloadError(
                message: shape, issues: [issue(context.codingPath, "expected \(describe(type))")])

        case .dataCorrupted(let context)?:
            // swift-foundation reports a syntax error and a number that does not fit its field
            // (300 for an Int8, 1.5 for an Int) the same way: "not valid JSON", empty path. The
            // whole document is scanned before any value is decoded, so if a type that reads
            // nothing decodes from the same bytes, the JSON itself was fine. Only failures pay
            // for this second scan.
            if context.codingPath.isEmpty && (try? decoder.decode(WsNoResponse.self, from: data)) == nil {
                return WsPayloadError(message: "payload is not valid JSON", issues: [issue([], "not valid JSON")])
            }
            // An enum case that does not exist, a number out of range (whose path Foundation
            // does not keep), or a custom `init(from:)` that refused the value.
            return WsPayloadError(message: shape, issues: [issue(context.codingPath, "invalid value")])

        default:
            // An error of the payload type's own `init(from:)`: its text is meant for the
            // server's developers, not for clients, so only its existence is reported.
            return WsPayloadError(message: shape, issues: [issue([], "invalid value")])
        }
    }

    private static func issue(_ codingPath: [any CodingKey], _ message: String) -> WsValidationIssue {
        WsValidationIssue(path: path(codingPath), message: message)
    }

    /// `items.2.name`. JSONDecoder names array positions "Index 2" (with intValue 2); every
    /// other key is its string value, which is the JSON key even for Int-backed CodingKeys.
    private static func path(_ codingPath: [any CodingKey]) -> String {
        codingPath.map { key in
            if let index = key.intValue, key.stringValue == "Index \(index)" {
                return String(index)
            }
            return key.stringValue
        }.joined(separator: ".")
    }

    /// The JSON kind JSONDecoder expected, in the words of a JSON client.
    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type, is Character.Type: "a string"
        case is Bool.Type: "a boolean"
        case is any BinaryInteger.Type: "an integer"
        case is any FloatingPoint.Type: "a number"
        case is [String: Any].Type: "an object"
        case is [Any].Type: "an array"
        default: "a value of another type"
        }
    }
}

extension WsJSONCodable {
    /// `Self` is `P` (the caller checked): the cast folds away where both are known.
    @inlinable
    static func decodePayload<P>(
        as type: P.Type, from json: UnsafeRawBufferPointer?, validating: Bool
    ) throws(WsPayloadError) -> P {
        try WsPayloadDecoding.decodeCodable(Self.self, from: json, validating: validating) as! P
    }
}
