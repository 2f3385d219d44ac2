// A minimal blocking WebSocket client over a raw socket, for tests of the engine API:
// upgrade, masked frames out, unmasked frames in. Every read has a timeout so a test that
// waits for something that never comes fails instead of hanging.
#if canImport(Glibc)
import Glibc
#endif

struct TestClientError: Error, CustomStringConvertible {
    let description: String
}

final class TestClient {
    let fd: Int32
    /// The server's answer to the upgrade, status line and headers.
    private(set) var responseHead = ""
    private var pending: [UInt8] = []

    struct Frame {
        var opcode: UInt8
        var payload: [UInt8]
        var text: String { String(decoding: payload, as: UTF8.self) }
        var closeCode: UInt16? {
            opcode == 8 && payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil
        }
    }

    init(port: Int, path: String = "/", headers: [String] = []) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestClientError(description: "socket failed") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            close(fd)
            throw TestClientError(description: "connect failed: \(errno)")
        }
        let request = (["GET \(path) HTTP/1.1", "Host: 127.0.0.1:\(port)", "Upgrade: websocket",
                        "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                        "Sec-WebSocket-Version: 13"] + headers + ["", ""]).joined(separator: "\r\n")
        try write(Array(request.utf8))
        let head = try readHead()
        responseHead = head
        guard head.hasPrefix("HTTP/1.1 101") else {
            close(fd)
            throw TestClientError(description: "upgrade refused: \(head)")
        }
    }

    deinit { close(fd) }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw TestClientError(description: "send failed: \(errno)") }
            offset += n
        }
    }

    private func fill() throws {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var n: Int
        repeat {   // a blocking call interrupted by a signal is tried again, as any client does
            n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        } while n < 0 && errno == EINTR
        guard n > 0 else { throw TestClientError(description: n == 0 ? "EOF" : "recv failed: \(errno)") }
        pending += buffer[0..<n]
    }

    private func readHead() throws -> String {
        let end: [UInt8] = [13, 10, 13, 10]
        while true {
            if let range = pending.firstRange(of: end) {
                let head = String(decoding: pending[..<range.upperBound], as: UTF8.self)
                pending.removeFirst(range.upperBound)
                return head
            }
            try fill()
        }
    }

    func send(opcode: UInt8, _ payload: [UInt8], fin: Bool = true) throws {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        switch payload.count {
        case ..<126: frame.append(0x80 | UInt8(payload.count))
        case ..<65536: frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        default: frame.append(0x80 | 127); frame += (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xff) }
        }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset & 3] }
        try write(frame)
    }

    func send(text: String) throws { try send(opcode: 1, Array(text.utf8)) }

    func receive() throws -> Frame {
        while true {
            if pending.count >= 2 {
                let opcode = pending[0] & 0x0f
                var length = Int(pending[1] & 0x7f)
                var offset = 2
                if length == 126, pending.count >= 4 {
                    length = Int(pending[2]) << 8 | Int(pending[3]); offset = 4
                } else if length == 127, pending.count >= 10 {
                    length = pending[2..<10].reduce(0) { $0 << 8 | Int($1) }; offset = 10
                } else if length >= 126 {
                    try fill(); continue
                }
                if pending.count >= offset + length {
                    let payload = Array(pending[offset..<offset + length])
                    pending.removeFirst(offset + length)
                    return Frame(opcode: opcode, payload: payload)
                }
            }
            try fill()
        }
    }
}
