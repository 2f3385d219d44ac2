// The application module: configuration, gateways and services (the spec's @Module).
import NaviosWS

/// Built from the command line in main.swift, then handed to the module through a token.
nonisolated(unsafe) var exampleConfig = WsConfig()

let WsToken = provideWsService { exampleConfig }

@Module(providers: [WsToken, ChatGateway.self, ProtectedGateway.self, NotificationService.self])
final class AppModule {}
