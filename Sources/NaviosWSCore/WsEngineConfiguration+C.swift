internal import CNaviosWS
#if canImport(Glibc)
import Glibc
#endif

extension WsEngineConfiguration {
    /// The C form of the configuration, valid inside `body` (the core copies what it keeps).
    func withCConfig<R>(_ body: (inout nws_server_config) -> R) -> R {
        var config = nws_server_config()
        config.port = UInt16(clamping: port)
        config.loops = Int32(clamping: loopThreads)
        switch backend {
        case .auto: config.backend = Int32(NWS_BACKEND_AUTO.rawValue)
        case .ioUring: config.backend = Int32(NWS_BACKEND_IO_URING.rawValue)
        case .epoll: config.backend = Int32(NWS_BACKEND_EPOLL.rawValue)
        }
        config.max_message = UInt64(clamping: maxMessageSize)
        config.max_frame = UInt64(clamping: maxFrameSize ?? 0)
        config.handshake_timeout_ms = handshakeTimeout.milliseconds
        config.idle_timeout_ms = idleTimeout?.milliseconds ?? 0
        config.ping_interval_ms = heartbeat?.interval.milliseconds ?? 0
        config.pong_timeout_ms = heartbeat?.timeout.milliseconds ?? 0
        config.close_timeout_ms = closeTimeout.milliseconds
        config.max_backlog = UInt64(clamping: maxBacklog)
        config.backpressure_policy = Int32(
            backpressurePolicy == .close ? NWS_BACKPRESSURE_CLOSE.rawValue : NWS_BACKPRESSURE_DROP.rawValue)
        config.http.max_head_bytes = maxRequestHeadBytes
        config.max_rooms_per_conn = UInt32(clamping: maxRoomsPerConnection)
        if let engineIO {
            config.eio.ping_interval_ms = engineIO.pingInterval.milliseconds
            config.eio.ping_timeout_ms = engineIO.pingTimeout.milliseconds
            config.eio.max_payload = UInt64(clamping: engineIO.maxPayload)
        }
        if let deflate {
            config.deflate.mode = Int32(
                deflate.mode == .shared ? NWS_DEFLATE_SHARED.rawValue : NWS_DEFLATE_DEDICATED.rawValue)
            config.deflate.threshold = UInt32(clamping: max(deflate.threshold, 1))
            config.deflate.level = Int32(clamping: deflate.level)
            config.deflate.window_bits = UInt8(clamping: deflate.windowBits)
            config.deflate.mem_level = UInt8(clamping: deflate.memoryLevel)
            config.deflate.client_window_bits = UInt8(clamping: deflate.clientWindowBits)
        }
        return host.withCString { hostPointer in
            config.host = hostPointer
            return withCPages(pages) { cPages in
                config.pages = cPages.baseAddress
                config.page_count = cPages.count
                return withOptionalCString(healthPath) { healthPointer in
                    config.health_path = healthPointer
                    return withOptionalCString(readyPath) { readyPointer in
                        config.ready_path = readyPointer
                        return withOptionalCString(engineIO?.path) { eioPath in
                            config.eio.path = eioPath
                            return withCTLS(tls) { cTLS in
                                config.tls = cTLS
                                return body(&config)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The C form of a TLS configuration, valid inside `body` (the core loads the certificates
/// while it is called); all zero for nil.
func withCTLS<R>(_ tls: WsEngineConfiguration.TLS?, _ body: (nws_tls_config) -> R) -> R {
    guard let tls else { return body(nws_tls_config()) }
    var strings: [UnsafeMutablePointer<CChar>] = []
    defer { strings.forEach { free($0) } }
    func copy(_ text: String?) -> UnsafePointer<CChar>? {
        guard let text, let p = strdup(text) else { return nil }
        strings.append(p)
        return UnsafePointer(p)
    }
    var certs = tls.certificates.map { certificate -> nws_tls_cert in
        var c = nws_tls_cert()
        switch certificate.source {
        case .files(let chain, let key):
            c.cert_file = copy(chain)
            c.key_file = copy(key)
        case .pem(let chain, let key):
            c.cert_pem = copy(chain)
            c.key_pem = copy(key)
        }
        c.server_name = copy(certificate.serverName)
        return c
    }
    return certs.withUnsafeMutableBufferPointer { buffer in
        var config = nws_tls_config()
        config.certs = UnsafePointer(buffer.baseAddress)
        config.cert_count = buffer.count
        config.client_ca_file = copy(tls.clientCertificateAuthorities)
        config.client_cert_optional = tls.clientCertificateOptional ? 1 : 0
        config.min_version = tls.minimumVersion == .tls13 ? 13 : 12
        return body(config)
    }
}

/// A C string of `string` for the duration of `body`, or NULL for nil.
private func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}

/// nws_page values over the pages' strings and bytes, alive for the duration of `body`
/// (the core copies them).
private func withCPages<R>(_ pages: [WsPage], _ body: (UnsafeBufferPointer<nws_page>) -> R) -> R {
    var cPages: [nws_page] = []
    func collect(_ index: Int) -> R {
        if index == pages.count { return cPages.withUnsafeBufferPointer(body) }
        let page = pages[index]
        return page.path.withCString { path in
            page.contentType.withCString { type in
                page.body.withUnsafeBytes { bytes in
                    cPages.append(nws_page(path: path, content_type: type, body: bytes.baseAddress, body_len: bytes.count))
                    return collect(index + 1)
                }
            }
        }
    }
    return collect(0)
}

extension Duration {
    /// Whole milliseconds, at least 1 for any positive duration (0 means "off" to the core).
    var milliseconds: UInt32 {
        let (seconds, attoseconds) = components
        let ms = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if ms <= 0 { return attoseconds > 0 || seconds > 0 ? 1 : 0 }
        return UInt32(clamping: ms)
    }
}

extension WsEngineConfiguration.Backend {
    /// Whether this backend can be set up here: io_uring is often forbidden in containers
    /// (`.auto` then uses epoll).
    public var isAvailable: Bool {
        switch self {
        case .auto, .epoll: return true
        case .ioUring: return nws_backend_available(Int32(NWS_BACKEND_IO_URING.rawValue)) != 0
        }
    }
}
