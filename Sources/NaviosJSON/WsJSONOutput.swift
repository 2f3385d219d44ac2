/// Where a ``WsJSONCodable`` value writes its JSON: straight into the buffer of the message
/// being built (the envelope around it is already there).
///
/// A member's key is held until its value writes something, so that a `nil` optional leaves
/// the member out, as `encodeIfPresent` does; what `@WsJSONCodable` generates passes keys already
/// quoted (`"\"text\":"`), so no key is escaped at run time.
public struct WsJSONOutput {
    @usableFromInline package var buffer: JSONBuffer
    @usableFromInline var pendingKey: StaticString?
    @usableFromInline var pendingComma = false

    @usableFromInline
    package init(_ buffer: JSONBuffer) { self.buffer = buffer }

    /// Whether an object or an array has a member yet (it needs a comma before the next).
    public struct Members {
        @usableFromInline var hasMember = false
        @usableFromInline init() {}
    }

    /// Writes the held key, if any, before the value that needs it.
    @inlinable
    mutating func flushKey() {
        guard let key = pendingKey else { return }
        if pendingComma { buffer.put(UInt8(ascii: ",")) }
        buffer.put(key)
        pendingKey = nil
    }

    // MARK: objects

    @inlinable
    public mutating func beginObject() -> Members {
        flushKey()
        buffer.put(UInt8(ascii: "{"))
        return Members()
    }

    @inlinable
    public mutating func endObject() {
        buffer.put(UInt8(ascii: "}"))
    }

    /// One member: `key` is the JSON key quoted, with its colon.
    @inlinable
    public mutating func write<T: WsJSONCodable>(_ key: StaticString, _ value: T, in object: inout Members) throws {
        let start = beginMember(key, object)
        try value.encode(wsJSON: &self)
        endMember(&object, since: start)
    }

    /// A member of a type without a codec of its own, through its `encode(to:)`; a `nil`
    /// optional is left out, as `encodeIfPresent` leaves it.
    public mutating func write<T: Encodable>(_ key: StaticString, _ value: T, in object: inout Members) throws {
        if let optional = value as? any WsOptionalValue, optional.isNil { return }
        let start = beginMember(key, object)
        try writeEncodable(value)
        endMember(&object, since: start)
    }

    /// Holds the member's key; returns where the output stood.
    @inlinable
    mutating func beginMember(_ key: StaticString, _ object: Members) -> Int {
        pendingKey = key
        pendingComma = object.hasMember
        return buffer.count
    }

    /// The member counts when anything was written since `start` (a dropped nil wrote nothing,
    /// key included); what the value wrote inside, members of its own, does not decide it.
    @inlinable
    mutating func endMember(_ object: inout Members, since start: Int) {
        if buffer.count != start { object.hasMember = true }
        pendingKey = nil
    }

    // MARK: arrays

    public mutating func beginArray() -> Members {
        flushKey()
        buffer.put(UInt8(ascii: "["))
        return Members()
    }

    public mutating func beginElement(_ array: inout Members) {
        if array.hasMember { buffer.put(UInt8(ascii: ",")) }
        array.hasMember = true
    }

    public mutating func endArray() {
        buffer.put(UInt8(ascii: "]"))
    }

    // MARK: scalars

    /// `nil`: nothing for a member (its key is dropped), `null` anywhere else.
    public mutating func writeNil() {
        if pendingKey != nil {
            pendingKey = nil
            return
        }
        buffer.put(nullBytes)
    }

    @inlinable
    public mutating func writeString(_ value: String) {
        flushKey()
        buffer.writeString(value)
    }

    public mutating func writeBool(_ value: Bool) {
        flushKey()
        buffer.put(value ? trueBytes : falseBytes)
    }

    public mutating func writeInteger<I: FixedWidthInteger>(_ value: I) {
        flushKey()
        if let signed = Int64(exactly: value) {
            buffer.writeInteger(signed)
        } else {
            buffer.writeUnsigned(UInt64(value))
        }
    }

    public mutating func writeDouble(_ value: Double) throws {
        flushKey()
        try buffer.writeDouble(value)
    }

    public mutating func writeFloat(_ value: Float) throws {
        flushKey()
        try buffer.writeFloat(value)
    }

    /// Any `Encodable`, through the gateway's streaming encoder; what it cannot write throws.
    public mutating func writeEncodable<T: Encodable>(_ value: T) throws {
        flushKey()
        let sink = Sink(continuing: buffer)
        defer { buffer = sink.surrender() }
        try sink.encodeValue(value)
        if sink.unsupported { throw WsJSONWriter.Unsupported() }
    }
}

/// Tells a `nil` optional apart behind a generic parameter.
protocol WsOptionalValue {
    var isNil: Bool { get }
}

extension Optional: WsOptionalValue {
    var isNil: Bool { self == nil }
}
