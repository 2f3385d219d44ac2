import NaviosJSON
import NaviosWSCore

/// What `session_expiring` carries (``WsSessionGuard``).
struct WsSessionExpiring: Codable, Sendable {
    var reason: String
    var graceMs: Int
}

/// The ack of an accepted `session_refresh`.
struct WsSessionRefreshed: Codable, Sendable {
    var expiresInMs: Int
}

extension WsGatewayRuntime {
    static let sessionExpiringEvent = "session_expiring"

    /// At connect, once the gateway's guards admitted the client: the shortest lifetime its
    /// session guards give, timed.
    func startSession(_ client: WsClient) async throws {
        let context = WsExecutionContext(client: client, event: nil, payload: nil, gateway: client.gateway.type)
        var lifetime: Duration?
        for guardType in client.gateway.sessionGuards {
            let instance = try container.get(guardType)
            if let own = try await instance.sessionLifetime(context) { lifetime = min(lifetime ?? own, own) }
        }
        if let lifetime { timeSession(client, lifetime) }
    }

    /// A client's `session_refresh`: every session guard must accept the new credentials.
    func refreshSession(_ client: WsClient, _ payload: [UInt8]?, _ ack: Int64?) async {
        let event = AnyGateway.sessionRefreshEvent
        let credentials = payload.flatMap { bytes in
            bytes.withUnsafeBytes { try? WsPayloadDecoding.decode(WsJSONValue.self, from: $0) }
        }
        let context = WsExecutionContext(client: client, event: event, payload: credentials, gateway: client.gateway.type)
        var lifetime: Duration?
        do {
            for guardType in client.gateway.sessionGuards {
                guard let own = try await container.get(guardType).refresh(context) else {
                    return client.sendError(event, ack: ack, WsException(.unauthorized, "credentials refused"))
                }
                lifetime = min(lifetime ?? own, own)
            }
        } catch {
            logger.info("session refresh refused", metadata: ["client": "\(client.id)", "error": "\(error)"])
            return client.sendError(event, ack: ack, WsException(.unauthorized, "credentials refused"))
        }
        let granted = lifetime ?? .zero
        timeSession(client, lifetime)
        if let ack { try? client.sendAck(ack, prefix: client.codec.ackPrefix(event: event, namespace: client.namespace), event: event, WsSessionRefreshed(expiresInMs: granted.milliseconds)) }
    }

    /// Starts the session's clock again (nil: no end): at the end `session_expiring`, then 1008
    /// after the grace period unless a refresh restarted it meanwhile.
    private func timeSession(_ client: WsClient, _ lifetime: Duration?) {
        let epoch = client.state.withLock { state -> UInt64 in
            state.sessionEpoch &+= 1
            return state.sessionEpoch
        }
        guard let lifetime else { return }
        let grace = limits.sessionGrace
        let current: @Sendable () -> Bool = { client.state.withLock { $0.sessionEpoch == epoch && !$0.closed } }
        runTimer(on: client.connectionID) {
            try? await Task.sleep(for: lifetime)
            guard current() else { return }
            _ = client.emit(Self.sessionExpiringEvent, WsSessionExpiring(reason: "credentials expired", graceMs: grace.milliseconds))
            try? await Task.sleep(for: grace)
            guard current() else { return }
            client.close(.policyViolation, "session expired")
        }
    }
}
