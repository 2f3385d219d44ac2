// The application module: configuration, gateways and services (the spec's @Module).
import NaviosDI
import NaviosWS

/// Built from the command line in main.swift, then handed to the module through a token.
nonisolated(unsafe) var exampleConfig = WsConfig()

let WsToken = provideWsService { exampleConfig }

final class AppModule: Module {
    static var providers: [Provider] {
        [.token(WsToken), .type(ChatGateway.self), .type(ProtectedGateway.self), .type(NotificationService.self)]
    }
}
