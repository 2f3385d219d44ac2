// The application module: configuration, gateways and services (the spec's @Module).
import NaviosWS
import Prometheus

/// From the command line (`chatConfig(from:)` in main.swift), read at its first use, once
/// main.swift has set up logging.
let exampleConfig = chatConfig(from: CommandLine.arguments)
/// How long a token admits a client of /protected before it must send `session_refresh`
/// (--session-lifetime-ms; 15 minutes, a usual access token's life).
let tokenLifetime: Duration = {
    let arguments = CommandLine.arguments
    guard let flag = arguments.firstIndex(of: "--session-lifetime-ms"), flag + 1 < arguments.count,
          let milliseconds = Int(arguments[flag + 1]) else { return .seconds(15 * 60) }
    return .milliseconds(milliseconds)
}()

/// What GET /metrics renders (main.swift bootstraps swift-metrics with it).
let metricsRegistry = PrometheusCollectorRegistry()

let WsToken = provideWsService { exampleConfig }

@Module(providers: [WsToken, ChatGateway.self, ProtectedGateway.self, NotificationService.self])
final class AppModule {}
