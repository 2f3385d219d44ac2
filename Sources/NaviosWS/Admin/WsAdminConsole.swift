import NaviosWSCore
import Synchronization

/// The admin view's state: the configuration, the pages' WebSockets, and the last reading of
/// the core's counters (rates are their increase over the interval).
final class WsAdminConsole: Sendable {
    let config: WsAdmin
    let page: [UInt8]
    private let watchers = Mutex<Set<WsConnectionID>>([])
    private let last = Mutex<(at: ContinuousClock.Instant, stats: WsEngineStatistics)?>(nil)

    init(_ config: WsAdmin) {
        self.config = config
        page = Array(WsAdminPage.html(socketPath: config.socketPath).utf8)
    }

    func watch(_ id: WsConnectionID) { watchers.withLock { _ = $0.insert(id) } }
    func forget(_ id: WsConnectionID) { watchers.withLock { _ = $0.remove(id) } }
    func isWatching(_ id: WsConnectionID) -> Bool { watchers.withLock { $0.contains(id) } }
    var watching: [WsConnectionID] { watchers.withLock { Array($0) } }

    /// Per-second rates of received messages, sent messages and deliveries since the last call.
    func rates(_ now: WsEngineStatistics) -> (messagesIn: Double, messagesOut: Double, deliveries: Double) {
        let instant = ContinuousClock.now
        let before = last.withLock { state in
            defer { state = (instant, now) }
            return state
        }
        guard let before else { return (0, 0, 0) }
        let (seconds, attoseconds) = (instant - before.at).components
        let elapsed = max(Double(seconds) + Double(attoseconds) / 1e18, 0.001)
        func rate(_ value: KeyPath<WsEngineStatistics, UInt64>) -> Double {
            Double(now[keyPath: value] &- min(before.stats[keyPath: value], now[keyPath: value])) / elapsed
        }
        return (rate(\.messagesIn), rate(\.messagesOut), rate(\.deliveries))
    }
}
