internal import CNaviosRedis
import NaviosWS
import Synchronization

/// Redis pub/sub as a `WsPubSubTransport`, over the C link (CSources/CNaviosRedis): its own
/// thread and two connections, reconnection with backoff, subscriptions renewed after each
/// reconnection. Publishes while the link is down are dropped and counted (see nws_redis.h).
final class RedisPubSubTransport: WsPubSubTransport {
    let options: RedisWsAdapter.Options
    private let state = Mutex(State())

    private struct State {
        var link: LinkHandle?
        var events: LinkEvents?
    }

    /// The C link; used only under the state lock, and freed only by `stop`.
    private struct LinkHandle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    init(options: RedisWsAdapter.Options) { self.options = options }

    func start(
        receive: @escaping @Sendable (String, UnsafeRawBufferPointer) -> Void,
        linkChanged: @escaping @Sendable (Bool, String?) -> Void
    ) {
        let events = LinkEvents(receive: receive, linkChanged: linkChanged)
        var link: OpaquePointer?
        let rc = options.withCConfig { config in
            var callbacks = nws_redis_callbacks()
            // Unretained: the transport keeps `events` until the link is freed (`stop`).
            callbacks.ctx = Unmanaged.passUnretained(events).toOpaque()
            callbacks.on_message = { ctx, channel, channelLength, data, length in
                let events = Unmanaged<LinkEvents>.fromOpaque(ctx!).takeUnretainedValue()
                let name = String(decoding: UnsafeRawBufferPointer(start: channel, count: channelLength), as: UTF8.self)
                events.receive(name, UnsafeRawBufferPointer(start: data, count: length))
            }
            callbacks.on_state = { ctx, up, reason in
                Unmanaged<LinkEvents>.fromOpaque(ctx!).takeUnretainedValue().linkChanged(up != 0, reason.map { String(cString: $0) })
            }
            callbacks.on_reply = { ctx, token, reply in
                Unmanaged<LinkEvents>.fromOpaque(ctx!).takeUnretainedValue().answer(token, reply.map(RedisReply.init))
            }
            return nws_redis_link_start(&config, &callbacks, &link)
        }
        guard rc == 0, let link else {
            options.logger.error("redis link did not start", metadata: ["errno": "\(-rc)"])
            return
        }
        let handle = LinkHandle(pointer: link)
        state.withLock {
            $0.link = handle
            $0.events = events
        }
    }

    func stop() async {
        guard let (link, events) = state.withLock({ state -> (LinkHandle, LinkEvents?)? in
            defer { state.link = nil; state.events = nil }
            return state.link.map { ($0, state.events) }
        }) else { return }
        nws_redis_link_stop(link.pointer)   // joins the link thread: no callback after this
        events?.failAllCounts()
    }

    func subscribe(_ channel: String) { withLink { link in withBytes(channel) { nws_redis_subscribe(link, $0, $1) } } }
    func unsubscribe(_ channel: String) { withLink { link in withBytes(channel) { nws_redis_unsubscribe(link, $0, $1) } } }

    @discardableResult
    func publish(_ channel: String, _ message: [UInt8]) -> Bool {
        withLink { link in
            withBytes(channel) { name, nameLength in
                message.withUnsafeBufferPointer { nws_redis_publish(link, name, nameLength, $0.baseAddress, $0.count) }
            }
        } == 0
    }

    func subscriberCount(_ channel: String) async -> Int? {
        guard case .array(let counts)? = await command(["PUBSUB", "NUMSUB", channel].map { Array($0.utf8) }),
              counts.count == 2, case .integer(let count) = counts[1] else { return nil }
        return Int(count)
    }

    /// Runs a command and waits for its reply; nil when the link is (or goes) down first.
    func command(_ arguments: [[UInt8]]) async -> RedisReply? {
        guard let events = state.withLock({ $0.events }) else { return nil }
        return await withCheckedContinuation { continuation in
            let token = events.register(continuation)
            if send(arguments, token: token) != 0 { events.answer(token, nil) }
        }
    }

    /// Sends a command without waiting for its reply (token 0: none comes); 0 or a negative
    /// errno (-ENOTCONN while the link is down).
    @discardableResult
    func send(_ arguments: [[UInt8]], token: UInt64 = 0) -> Int32 {
        // The arguments side by side in one buffer (a byte more, so an empty one still has an
        // address), each named by a pointer into it; the C call copies them.
        var joined: [UInt8] = []
        joined.reserveCapacity(arguments.reduce(1) { $0 + $1.count })
        var starts: [Int] = []
        for argument in arguments {
            starts.append(joined.count)
            joined += argument
        }
        joined.append(0)
        return joined.withUnsafeBufferPointer { buffer in
            let pointers: [UnsafePointer<CChar>?] = starts.map {
                UnsafeRawPointer(buffer.baseAddress! + $0).assumingMemoryBound(to: CChar.self)
            }
            return withLink { link in nws_redis_command(link, Int32(arguments.count), pointers, arguments.map(\.count), token) }
        }
    }

    var linkStats: nws_redis_stats {
        var stats = nws_redis_stats()
        withLink { link in nws_redis_stats_get(link, &stats); return 0 }
        return stats
    }

    /// Runs `body` with the link, under the lock so `stop` cannot free it meanwhile; -ENOTCONN
    /// when there is none. The C calls only copy and wake the link thread: never long.
    @discardableResult
    private func withLink(_ body: (OpaquePointer) -> Int32) -> Int32 {
        state.withLock { state in state.link.map { body($0.pointer) } ?? -107 }   // -ENOTCONN
    }
}

/// A channel name as pointer + length (withCString: never a null pointer, even for "").
private func withBytes<R>(_ string: String, _ body: (UnsafePointer<CChar>, Int) -> R) -> R {
    string.withCString { body($0, string.utf8.count) }
}

/// What the link thread calls back into: the adapter's closures, and the replies waited for.
private final class LinkEvents: Sendable {
    let receive: @Sendable (String, UnsafeRawBufferPointer) -> Void
    let linkChanged: @Sendable (Bool, String?) -> Void
    private let counts = Mutex<(next: UInt64, waiting: [UInt64: CheckedContinuation<RedisReply?, Never>])>((1, [:]))

    init(receive: @escaping @Sendable (String, UnsafeRawBufferPointer) -> Void,
         linkChanged: @escaping @Sendable (Bool, String?) -> Void) {
        self.receive = receive
        self.linkChanged = linkChanged
    }

    func register(_ continuation: CheckedContinuation<RedisReply?, Never>) -> UInt64 {
        counts.withLock { counts in
            defer { counts.next += 1 }
            counts.waiting[counts.next] = continuation
            return counts.next
        }
    }

    func answer(_ token: UInt64, _ reply: RedisReply?) {
        counts.withLock { $0.waiting.removeValue(forKey: token) }?.resume(returning: reply)
    }

    func failAllCounts() {
        let waiting = counts.withLock { counts in
            defer { counts.waiting.removeAll() }
            return Array(counts.waiting.values)
        }
        for continuation in waiting { continuation.resume(returning: nil) }
    }
}

/// A reply from Redis, copied out of the link's buffer.
enum RedisReply: Sendable, Equatable {
    case string([UInt8])
    case status(String)
    case error(String)
    case integer(Int64)
    case array([RedisReply])
    case null

    init(_ reply: OpaquePointer) {
        func bytes() -> [UInt8] {
            var length = 0
            guard let start = nws_redis_reply_string(reply, &length) else { return [] }
            return Array(UnsafeRawBufferPointer(start: start, count: length))
        }
        switch Int(nws_redis_reply_type(reply)) {
        case NWS_REDIS_REPLY_STRING: self = .string(bytes())
        case NWS_REDIS_REPLY_STATUS: self = .status(String(decoding: bytes(), as: UTF8.self))
        case NWS_REDIS_REPLY_ERROR: self = .error(String(decoding: bytes(), as: UTF8.self))
        case NWS_REDIS_REPLY_INTEGER: self = .integer(nws_redis_reply_integer(reply))
        case NWS_REDIS_REPLY_ARRAY:
            self = .array((0..<nws_redis_reply_count(reply)).map { RedisReply(nws_redis_reply_element(reply, $0)) })
        default: self = .null
        }
    }
}

/// Connection state recovery's shared store in Redis: a session is a string with an expiry
/// (SET … PX, taken with GETDEL: Redis 6.2 or later), a namespace's log a stream (XADD with
/// MAXLEN ~, read newest first with XREVRANGE in chunks). Commands go on the link's command
/// connection, in order with its PUBLISHes: a broadcast's entry is in the stream before any
/// instance receives it.
extension RedisPubSubTransport: WsSharedStore {
    func append(_ fields: [(name: String, value: [UInt8])], to log: String, maxLength: Int) {
        var arguments = ["XADD", log, "MAXLEN", "~", String(maxLength), "*"].map { Array($0.utf8) }
        for field in fields { arguments += [Array(field.name.utf8), field.value] }
        send(arguments)
    }

    func entries(of log: String, before: String?, count: Int) async -> [WsSharedLogEntry]? {
        let end = before.map { "(" + $0 } ?? "+"
        guard case .array(let items)? = await command(["XREVRANGE", log, end, "-", "COUNT", String(count)].map { Array($0.utf8) })
        else { return nil }
        var entries: [WsSharedLogEntry] = []
        for item in items {
            guard case .array(let parts) = item, parts.count == 2, case .string(let idBytes) = parts[0],
                  case .array(let pairs) = parts[1] else { return nil }
            let id = String(decoding: idBytes, as: UTF8.self)
            var fields: [String: [UInt8]] = [:]
            for index in stride(from: 0, to: pairs.count - 1, by: 2) {
                guard case .string(let name) = pairs[index], case .string(let value) = pairs[index + 1] else { return nil }
                fields[String(decoding: name, as: UTF8.self)] = value
            }
            // An id is "<ms>-<sequence>": the time Redis wrote it.
            let milliseconds = id.split(separator: "-").first.flatMap { Int64($0) } ?? 0
            entries.append(WsSharedLogEntry(id: id, milliseconds: milliseconds, fields: fields))
        }
        return entries
    }

    func put(_ value: [UInt8], at key: String, expiringAfter: Duration) {
        let milliseconds = max(1, expiringAfter.components.seconds * 1000 + expiringAfter.components.attoseconds / 1_000_000_000_000_000)
        send([Array("SET".utf8), Array(key.utf8), value, Array("PX".utf8), Array(String(milliseconds).utf8)])
    }

    func take(_ key: String) async -> [UInt8]? {
        guard case .string(let value)? = await command([Array("GETDEL".utf8), Array(key.utf8)]) else { return nil }
        return value
    }
}
