internal import CNaviosWS

/// An error of the C core, mirrored from its one list of `NWS_E*` codes.
public struct WsCoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The negative `NWS_E*` value.
    public let code: Int32

    init(_ code: Int32) { self.code = code }

    /// The symbolic name, such as `NWS_EUTF8`.
    public var name: String { String(cString: nws_err_name(code)) }
    /// What went wrong, in words.
    public var message: String { String(cString: nws_strerror(code)) }
    /// The close code a peer is sent for this error, or nil when it is not a protocol error.
    public var closeCode: WsCloseCode? {
        let value = nws_err_close_code(code)
        return value == 0 ? nil : WsCloseCode(rawValue: value)
    }

    public var description: String { "\(name): \(message)" }

    /// No open connection has this id.
    public static let stale = WsCoreError(Int32(NWS_ESTALE.rawValue))
    /// The connection is closing and takes no more messages.
    public static let closed = WsCoreError(Int32(NWS_ECLOSED.rawValue))
    /// A droppable message was dropped because the connection's queue is over its limit.
    public static let dropped = WsCoreError(Int32(NWS_EDROPPED.rawValue))
    /// The queue is over its limit: the connection is being closed with 1008.
    public static let backpressure = WsCoreError(Int32(NWS_EBACKPRESSURE.rawValue))
    /// Too big for one frame.
    public static let tooBig = WsCoreError(Int32(NWS_ETOOBIG.rawValue))
    public static let outOfMemory = WsCoreError(Int32(NWS_ENOMEM.rawValue))
    public static let invalidArgument = WsCoreError(Int32(NWS_EINVAL.rawValue))
    /// Over a configured count (a connection's rooms: ``WsEngineConfiguration/maxRoomsPerConnection``).
    public static let limitExceeded = WsCoreError(Int32(NWS_ELIMIT.rawValue))
    /// A system call failed (binding the port, for instance).
    public static let system = WsCoreError(Int32(NWS_ESYS.rawValue))
    /// io_uring was asked for and cannot be set up here.
    public static let ioUringUnavailable = WsCoreError(Int32(NWS_EURING.rawValue))

    /// Throws when `rc` is a negative `NWS_E*` code.
    @inline(__always)
    static func check(_ rc: Int32) throws(WsCoreError) {
        if rc < 0 { throw WsCoreError(rc) }
    }
}
