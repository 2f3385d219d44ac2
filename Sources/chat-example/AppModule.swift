// The application module: configuration, gateways and services (the spec's @Module).
import NaviosWS

/// From the command line (`chatConfig(from:)` in main.swift), read at its first use, once
/// main.swift has set up logging.
let exampleConfig = chatConfig(from: CommandLine.arguments)

let WsToken = provideWsService { exampleConfig }

@Module(providers: [WsToken, ChatGateway.self, ProtectedGateway.self, NotificationService.self])
final class AppModule {}
