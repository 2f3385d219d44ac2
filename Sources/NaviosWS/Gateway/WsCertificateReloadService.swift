import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads TLS certificates each time the process gets SIGHUP, the usual signal after a
/// renewal: `reload` loads them (``NaviosApplication/reloadTLS(_:)``, `WsEngine.reloadTLS`), new
/// connections get them, open ones keep theirs. Runs in the application's `ServiceGroup`.
public struct WsCertificateReloadService: Service {
    let reload: @Sendable () throws -> Void
    let logger: Logger

    public init(logger: Logger, reload: @escaping @Sendable () throws -> Void) {
        self.reload = reload
        self.logger = logger
    }

    public func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            do {
                try reload()
                logger.info("certificates reloaded")
            } catch {
                logger.error("certificates not reloaded: \(error)")
            }
        }
    }
}
