import CoreMetrics
import NaviosWSCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The gateway's metrics in swift-metrics' objects, made once per label set.
///
/// Two kinds of source:
/// - events the runtime sees anyway, recorded as they happen: a client opened or closed, an
///   error sent, a rate-limited message, a guard's refusal, a broadcast, and each handler's
///   duration (the only per-message cost, and only with metrics on);
/// - counters the core and the adapter keep, carried over by ``collect(engine:adapter:)`` when
///   the metrics are read (a scrape, or periodically): only the increase since the last
///   collection is added, so swift-metrics' counters match the core's.
final class WsGatewayMetrics: Sendable {
    private let clientsOpened = Labelled<Counter> { Counter(label: WsMetricNames.clientsOpened, dimensions: $0) }
    private let clientsClosed = Labelled<Counter> { Counter(label: WsMetricNames.clientsClosed, dimensions: $0) }
    private let clientsOpen = Labelled<Meter> { Meter(label: WsMetricNames.clientsOpen, dimensions: $0) }
    private let errorsSent = Labelled<Counter> { Counter(label: WsMetricNames.errorsSent, dimensions: $0) }
    private let guardRefusals = Labelled<Counter> { Counter(label: WsMetricNames.guardRefusals, dimensions: $0) }
    private let rateLimited = Counter(label: WsMetricNames.rateLimited)
    private let broadcasts = Counter(label: WsMetricNames.broadcasts)
    private let collected = Mutex(Collected())

    /// A handler's duration histogram, in seconds (its count is the events handled). A
    /// Recorder of Doubles, not a Timer: Prometheus' duration histogram compares Durations per
    /// value, which costs a handler about 900 instructions more each time.
    static func handlerTimer(namespace: String, event: String) -> Recorder {
        Recorder(label: WsMetricNames.handlerDuration, dimensions: [("namespace", namespace), ("event", event)],
                 aggregate: true)
    }

    /// The monotonic clock in nanoseconds, read directly: ContinuousClock's Instant arithmetic
    /// goes through 128-bit Durations.
    @inline(__always)
    static func nanosecondsNow() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) &* 1_000_000_000 &+ Int64(now.tv_nsec)
    }

    // MARK: recorded as they happen

    func clientOpened(namespace: String) {
        clientsOpened[[("namespace", namespace)]].increment()
        clientsOpen[[("namespace", namespace)]].increment()
    }

    /// `code`: the connection's close code, or nil when only the namespace was left (a
    /// Socket.IO DISCONNECT, its connection going on).
    func clientClosed(namespace: String, code: WsCloseCode?) {
        clientsClosed[[("namespace", namespace), ("code", code.map { String($0.rawValue) } ?? "namespace")]].increment()
        clientsOpen[[("namespace", namespace)]].decrement()
    }

    func errorSent(code: WsErrorCode) { errorsSent[[("code", code.rawValue)]].increment() }
    func guardRefused(atConnect: Bool) { guardRefusals[[("level", atConnect ? "connection" : "message")]].increment() }
    func messageRateLimited() { rateLimited.increment() }
    func broadcastSent() { broadcasts.increment() }

    // MARK: carried over when read

    fileprivate struct Collected {
        /// The most each core counter (by label and dimensions) reached at a collection.
        var reached: [String: UInt64] = [:]
        var loops: [WsLoopStatistics] = []
        var adapter: WsAdapterStatistics?
        var counters: [String: Counter] = [:]
        var floatingCounters: [String: FloatingPointCounter] = [:]
        var gauges: [String: Gauge] = [:]
    }

    /// Adds to each counter what the core and the adapter counted since the last call, and
    /// sets the gauges. Serialized: two scrapes at once add each increase once.
    func collect(engine: WsEngine, adapter: any WsAdapter) {
        let now = engine.statistics
        let loops = (0..<engine.loopThreads).compactMap { engine.loopStatistics($0) }
        let link = adapter.statistics
        collected.withLock { state in
            func add(_ label: String, _ dimensions: [(String, String)] = [], _ value: KeyPath<WsEngineStatistics, UInt64>) {
                state.carry(label, dimensions, to: now[keyPath: value])
            }
            add(WsMetricNames.connectionsAccepted, [], \.connectionsAccepted)
            add(WsMetricNames.upgradesRefused, [], \.upgradesRefused)
            add(WsMetricNames.protocolErrors, [], \.protocolErrors)
            add(WsMetricNames.timeouts, [("kind", "handshake")], \.handshakeTimeouts)
            add(WsMetricNames.timeouts, [("kind", "heartbeat")], \.heartbeatTimeouts)
            add(WsMetricNames.timeouts, [("kind", "idle")], \.idleTimeouts)
            add(WsMetricNames.messagesReceived, [("protocol", "websocket")], \.plainMessagesIn)
            add(WsMetricNames.messagesReceived, [("protocol", "engine.io")], \.engineIOMessagesIn)
            add(WsMetricNames.messagesSent, [("protocol", "websocket")], \.plainMessagesOut)
            add(WsMetricNames.messagesSent, [("protocol", "engine.io")], \.engineIOMessagesOut)
            add(WsMetricNames.bytesReceived, [("protocol", "websocket")], \.plainBytesIn)
            add(WsMetricNames.bytesReceived, [("protocol", "engine.io")], \.engineIOBytesIn)
            add(WsMetricNames.bytesSent, [("protocol", "websocket")], \.plainBytesOut)
            add(WsMetricNames.bytesSent, [("protocol", "engine.io")], \.engineIOBytesOut)
            add(WsMetricNames.deliveries, [], \.deliveries)
            add(WsMetricNames.backpressureDrops, [], \.droppedMessages)
            add(WsMetricNames.backpressureCloses, [], \.backpressureCloses)
            state.gauge(WsMetricNames.connectionsOpen, []).record(Double(now.connectionsOpen))
            state.gauge(WsMetricNames.queuedBytes, []).record(Double(now.queuedBytes))

            for (index, loop) in loops.enumerated() {
                let dimensions = [("loop", String(index))]
                let earlier = index < state.loops.count ? state.loops[index] : nil
                state.counter(WsMetricNames.loopIterations, dimensions)
                    .increment(by: Self.increase(loop.iterations, earlier?.iterations))
                state.floatingCounter(WsMetricNames.loopBusy, dimensions)
                    .increment(by: Self.seconds(loop.busy - (earlier?.busy ?? .zero)))
                state.gauge(WsMetricNames.loopInboxDepth, dimensions).record(Double(loop.inboxDepth))
            }
            state.loops = loops

            guard let link else { return }
            let earlier = state.adapter
            state.gauge(WsMetricNames.adapterLinkUp, []).record(link.linkUp ? 1 : 0)
            func add(_ label: String, _ value: KeyPath<WsAdapterStatistics, Int>) {
                let increase = link[keyPath: value] - (earlier?[keyPath: value] ?? 0)
                state.counter(label, []).increment(by: Int64(max(increase, 0)))
            }
            add(WsMetricNames.adapterPublished, \.broadcastsPublished)
            add(WsMetricNames.adapterDropped, \.broadcastsDropped)
            add(WsMetricNames.adapterReceived, \.broadcastsReceived)
            add(WsMetricNames.adapterIgnored, \.ignoredMessages)
            state.counter(WsMetricNames.adapterPublishesAnswered, [])
                .increment(by: Self.increase(link.publishesAnswered, earlier?.publishesAnswered))
            state.floatingCounter(WsMetricNames.adapterPublishLatency, [])
                .increment(by: Self.seconds(link.publishLatency - (earlier?.publishLatency ?? .zero)))
            state.adapter = link
        }
    }

    private static func increase(_ now: UInt64, _ before: UInt64?) -> Int64 {
        Int64(clamping: now &- min(before ?? 0, now))
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return max(Double(seconds) + Double(attoseconds) / 1e18, 0)
    }
}

extension WsEngineStatistics {
    /// Plain WebSocket messages: all of them less Engine.IO's. Sent ones include control frames
    /// (ping, pong, close) and Engine.IO's own packets, which the core counts as frames.
    var plainMessagesIn: UInt64 { messagesIn &- min(engineIOMessagesIn, messagesIn) }
    var plainMessagesOut: UInt64 { messagesOut &- min(engineIOMessagesOut, messagesOut) }
    /// Plain WebSocket bytes: all of them less Engine.IO's (plain HTTP requests, such as a scrape,
    /// count here too).
    var plainBytesIn: UInt64 { bytesIn &- min(engineIOBytesIn, bytesIn) }
    var plainBytesOut: UInt64 { bytesOut &- min(engineIOBytesOut, bytesOut) }
}

extension WsGatewayMetrics.Collected {
    /// Adds to the counter what `total` (a core counter, or the difference of two) grew past the
    /// most it reached before. The core's counters are read one after another while its loops
    /// count: a difference can dip for a moment, and is then neither counted twice nor taken back.
    fileprivate mutating func carry(_ label: String, _ dimensions: [(String, String)], to total: UInt64) {
        let key = Labelled<Counter>.key(label, dimensions)
        let before = reached[key] ?? 0
        guard total > before else { return }
        counter(label, dimensions).increment(by: Int64(clamping: total - before))
        reached[key] = total
    }

    fileprivate mutating func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        Self.made(&counters, label, dimensions) { Counter(label: $0, dimensions: $1) }
    }

    fileprivate mutating func floatingCounter(_ label: String, _ dimensions: [(String, String)]) -> FloatingPointCounter {
        Self.made(&floatingCounters, label, dimensions) { FloatingPointCounter(label: $0, dimensions: $1) }
    }

    fileprivate mutating func gauge(_ label: String, _ dimensions: [(String, String)]) -> Gauge {
        Self.made(&gauges, label, dimensions) { Gauge(label: $0, dimensions: $1) }
    }

    /// The metric of this label and dimensions, made on first use.
    private static func made<Metric>(
        _ cache: inout [String: Metric], _ label: String, _ dimensions: [(String, String)],
        _ make: (String, [(String, String)]) -> Metric
    ) -> Metric {
        let key = Labelled<Counter>.key(label, dimensions)
        if let metric = cache[key] { return metric }
        let metric = make(label, dimensions)
        cache[key] = metric
        return metric
    }
}

/// One metric per set of dimension values, made on first use.
final class Labelled<Metric: AnyObject & Sendable>: Sendable {
    private let make: @Sendable ([(String, String)]) -> Metric
    private let made = Mutex<[String: Metric]>([:])

    init(_ make: @escaping @Sendable ([(String, String)]) -> Metric) { self.make = make }

    subscript(_ dimensions: [(String, String)]) -> Metric {
        let key = Self.key("", dimensions)
        return made.withLock { all in
            if let metric = all[key] { return metric }
            let metric = make(dimensions)
            all[key] = metric
            return metric
        }
    }

    static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        dimensions.reduce(label) { $0 + "\u{1F}" + $1.0 + "=" + $1.1 }
    }
}
