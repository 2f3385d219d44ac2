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
            callbacks.on_numsub = { ctx, token, subscribers in
                Unmanaged<LinkEvents>.fromOpaque(ctx!).takeUnretainedValue().answer(token, subscribers >= 0 ? Int(subscribers) : nil)
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
        guard let events = state.withLock({ $0.events }) else { return nil }
        return await withCheckedContinuation { continuation in
            let token = events.register(continuation)
            let rc = withLink { link in withBytes(channel) { nws_redis_numsub(link, $0, $1, token) } }
            if rc != 0 { events.answer(token, nil) }
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

/// What the link thread calls back into: the adapter's closures, and the subscriber counts
/// waited for.
private final class LinkEvents: Sendable {
    let receive: @Sendable (String, UnsafeRawBufferPointer) -> Void
    let linkChanged: @Sendable (Bool, String?) -> Void
    private let counts = Mutex<(next: UInt64, waiting: [UInt64: CheckedContinuation<Int?, Never>])>((1, [:]))

    init(receive: @escaping @Sendable (String, UnsafeRawBufferPointer) -> Void,
         linkChanged: @escaping @Sendable (Bool, String?) -> Void) {
        self.receive = receive
        self.linkChanged = linkChanged
    }

    func register(_ continuation: CheckedContinuation<Int?, Never>) -> UInt64 {
        counts.withLock { counts in
            defer { counts.next += 1 }
            counts.waiting[counts.next] = continuation
            return counts.next
        }
    }

    func answer(_ token: UInt64, _ count: Int?) {
        counts.withLock { $0.waiting.removeValue(forKey: token) }?.resume(returning: count)
    }

    func failAllCounts() {
        let waiting = counts.withLock { counts in
            defer { counts.waiting.removeAll() }
            return Array(counts.waiting.values)
        }
        for continuation in waiting { continuation.resume(returning: nil) }
    }
}
