import Testing
@testable import NaviosWSCore

/// permessage-deflate through the engine's configuration: what the upgrade answers, and that a
/// compressing connection still serves plain messages. (Compressed traffic itself is tested
/// on the wire: Tests/Interop/test_deflate.py, Autobahn 12-13.)
@Suite(.serialized) struct EngineDeflateTests {
    static let backends = testedBackends
    static let offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"

    private func extensionAnswer(_ client: TestClient) -> String? {
        client.responseHead.split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("sec-websocket-extensions:") }
            .map { String($0.dropFirst("sec-websocket-extensions:".count).drop { $0 == " " }) }
    }

    @Test(arguments: backends)
    func sharedModeAnswersNoContextForBothSides(backend: WsEngineConfiguration.Backend) async throws {
        let engine = try await startEngine(backend, RecordingHandler()) { $0.deflate = .init(mode: .shared) }
        let client = try TestClient(port: engine.port, headers: [Self.offer])
        #expect(extensionAnswer(client) == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        try client.send(text: "short and plain")   // under the threshold: no RSV1 either way
        #expect(try client.receive().text == "short and plain")
        await stop(engine)
    }

    @Test(arguments: backends)
    func dedicatedModeAnswersItsWindows(backend: WsEngineConfiguration.Backend) async throws {
        let engine = try await startEngine(backend, RecordingHandler()) {
            var deflate = WsEngineConfiguration.Deflate(mode: .dedicated)
            deflate.windowBits = 12
            deflate.clientWindowBits = 10
            $0.deflate = deflate
        }
        let client = try TestClient(port: engine.port, headers: [Self.offer])
        #expect(extensionAnswer(client) == "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10")
        await stop(engine)
    }

    @Test(arguments: backends)
    func offersAreDeclinedByDefault(backend: WsEngineConfiguration.Backend) async throws {
        let engine = try await startEngine(backend, RecordingHandler())
        let client = try TestClient(port: engine.port, headers: [Self.offer])
        #expect(extensionAnswer(client) == nil)
        await stop(engine)
    }

    @Test func settingsOutsideTheirRangeAreRefused() {
        var configuration = WsEngineConfiguration()
        var deflate = WsEngineConfiguration.Deflate(mode: .dedicated)
        deflate.windowBits = 16
        configuration.deflate = deflate
        #expect(throws: WsCoreError.self) { _ = try WsEngine(configuration: configuration, handler: RecordingHandler()) }
    }
}
