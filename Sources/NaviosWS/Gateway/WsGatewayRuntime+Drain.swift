import NaviosJSON
import NaviosWSCore

/// What every client is told when its server starts draining (a rolling deploy): the event
/// ``WsGatewayRuntime/reconnectHintEvent`` with this payload, in the client's own protocol.
///
/// JSON: `{"event":"reconnect_hint","data":{"reason":"draining","reconnectAfterMs":1234,"closeAfterMs":3234}}`
///
/// A client that follows it opens its next connection (the load balancer sends it to an
/// instance that is ready) after `reconnectAfterMs`, then closes this one: it misses nothing.
/// At `closeAfterMs` the server closes the connection anyway (1001; a Socket.IO client's
/// transport just ends, which stock clients answer by reconnecting), so clients that ignore the
/// hint come back spread over the window too, not all at once.
struct WsReconnectHint: Codable, Sendable {
    var reason: String
    var reconnectAfterMs: Int
    var closeAfterMs: Int
}

extension WsGatewayRuntime {
    static let reconnectHintEvent = "reconnect_hint"

    /// Spreads the clients' departures over the window: each connection draws its delay in the
    /// first 60% of it, and is closed 20% of the window later; the last 20% is for work in
    /// flight to finish before 1001.
    func engineDraining(window: Duration) {
        let spread = window.milliseconds * 6 / 10, lead = window.milliseconds * 2 / 10
        let clients = clientsByKey.withLock { Array($0.values) }
        var delays: [WsConnectionID: Int] = [:]
        for client in clients {
            let delay = delays[client.connectionID] ?? Int.random(in: 0...max(spread, 0))
            let first = delays.updateValue(delay, forKey: client.connectionID) == nil
            _ = client.emit(Self.reconnectHintEvent, WsReconnectHint(
                reason: "draining", reconnectAfterMs: delay, closeAfterMs: delay + lead))
            // One close per connection (a Socket.IO connection has a client per namespace).
            if first { closeLater(client, after: .milliseconds(delay + lead)) }
        }
        logger.info("told clients to reconnect elsewhere", metadata: [
            "connections": "\(delays.count)", "spreadMs": "\(spread)",
        ])
    }

    /// Closes the client's connection after `delay`, on its loop's executor: 1001 for a JSON
    /// client. A Socket.IO client's transport ends as a network failure would (no Engine.IO
    /// close packet): stock clients take that packet as a deliberate disconnect, and
    /// python-socketio then does not reconnect at all.
    private func closeLater(_ client: WsClient, after delay: Duration) {
        runTimer(on: client.connectionID) {
            try? await Task.sleep(for: delay)
            if client.wire == .socketIO { client.dropTransport() } else { client.close(.goingAway, "server draining") }
        }
    }

    /// Returns once no handler or guard started for a client is still running (or the task is
    /// cancelled: the engine bounds the wait).
    func engineQuiesce() async {
        while inFlight.load(ordering: .acquiring) > 0, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
