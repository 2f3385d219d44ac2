internal import CNaviosWS
#if canImport(Glibc)
import Glibc
#endif

/// An HTTP answer to a plain GET (``WsEngineHandler/httpRequest(_:)``); the connection closes
/// after it.
public struct WsHTTPResponse: Sendable {
    public var status: Int
    public var contentType: String
    /// Extra header fields (`WWW-Authenticate`, say); at most about 250 bytes in all.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int = 200, contentType: String = "text/plain; charset=utf-8",
                headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// The content types the core is handed: static strings, so the pointer outlives the call.
    private static let contentTypes: [String: StaticString] = [
        "text/plain; charset=utf-8": "text/plain; charset=utf-8",
        "text/plain; version=0.0.4; charset=utf-8": "text/plain; version=0.0.4; charset=utf-8",
        "text/html; charset=utf-8": "text/html; charset=utf-8",
        "application/json": "application/json",
    ]

    /// Into the core's reply: the body copied into memory the core frees.
    func fill(_ reply: UnsafeMutablePointer<nws_http_reply>) {
        reply.pointee.status = Int32(clamping: status)
        let type = Self.contentTypes[contentType] ?? "application/octet-stream"
        reply.pointee.content_type = UnsafeRawPointer(type.utf8Start).assumingMemoryBound(to: CChar.self)
        if !body.isEmpty, let memory = malloc(body.count) {
            body.withUnsafeBytes { memory.copyMemory(from: $0.baseAddress!, byteCount: body.count) }
            reply.pointee.body = memory
            reply.pointee.body_len = body.count
        }
        // Whole lines only, and no CR or LF inside one: nothing can start a header of its own.
        var lines: [UInt8] = []
        for (name, value) in headers {
            let line = Array("\(name): \(value)".utf8.filter { $0 != 13 && $0 != 10 }) + [13, 10]
            if lines.count + line.count >= MemoryLayout.size(ofValue: reply.pointee.headers) { break }
            lines += line
        }
        withUnsafeMutableBytes(of: &reply.pointee.headers) { raw in
            raw.copyBytes(from: lines)
            raw[lines.count] = 0
        }
    }
}
