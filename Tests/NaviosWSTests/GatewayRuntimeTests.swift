import NaviosDI
import Synchronization
import Testing
@testable import NaviosWS

/// Where a handler ran, as the handler itself saw it.
struct LoopReport: Codable, Sendable, Equatable {
    var ranOnLoop: Int?
    var connectionLoop: Int
    /// Whether the handler ran inside a task (on the loop's executor), not inline in the
    /// loop's message callback, where no task is current.
    var inTask: Bool

    init(_ client: WsClient) {
        ranOnLoop = client.runtime.engine.currentLoop
        connectionLoop = client.connectionID.loop
        inTask = withUnsafeCurrentTask { $0 != nil }
    }
}

/// A payload with a generated codec: the message path reads and writes it without Codable.
@WsJSONCodable
struct ProbeName: Codable, Sendable {
    var name: String
    var nick: String?
}

/// A type whose own codec and whose `Codable` conformance say which of them read and wrote it
/// (a real codec writes what `Encodable` writes; this one differs on purpose, to be observed).
struct CodecWitness: WsJSONCodable, Sendable {
    var readBy: String

    init(readBy: String) { self.readBy = readBy }
    init(wsJSON reader: inout WsJSONReader) throws {
        _ = try reader.readString()
        readBy = "codec"
    }
    init(from decoder: any Decoder) throws {
        _ = try decoder.singleValueContainer().decode(String.self)
        readBy = "decodable"
    }
    func encode(wsJSON output: inout WsJSONOutput) { output.writeString("read by \(readBy), written by codec") }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode("read by \(readBy), written by encodable")
    }
}

let codecWitnessEvent = wsBuilder().declareWsEvent(event: "witness-typed", payload: CodecWitness.self, response: CodecWitness.self)

/// A gateway written by hand (the form the macros expand to), exercising the runtime.
final class RuntimeProbeGateway: WsGateway {
    let server = inject(WsServer.self)
    init() {}

    static let gateway = WsGatewayDefinition<RuntimeProbeGateway>(path: "/t", namespace: "/probe")
        .onMessage("increment", Int.self) { _, params in params.payload + 1 }
        .onMessage("where-sync", WsNoResponse.self) { _, params in
            LoopReport(params.client)
        }
        .onMessage("where-async", WsNoResponse.self) { _, params async -> LoopReport in
            await Task.yield()
            return LoopReport(params.client)
        }
        .onMessage("ask", String.self) { _, params async throws -> String in
            try await params.client.emitWithAck("question", params.payload, as: String.self, timeout: .seconds(2))
        }
        .onMessage("shout", ProbeName.self) { _, params in
            ProbeName(name: params.payload.name.uppercased(), nick: params.payload.nick)
        }
        .onMessage("count", WsNoResponse.self) { gateway, _ in gateway.server.sockets.count }
        .onMessage("leave-now", WsNoResponse.self) { _, params in params.client.disconnect() }
        .onMessage("fail", WsNoResponse.self) { _, _ -> Int in throw WsException("nope", "as asked") }
        .onMessage("crash", WsNoResponse.self) { _, _ -> Int in throw CancellationError() }
        .onMessage("echo-to-self", String.self) { _, params -> Bool in
            params.client.emit("self", params.payload) == .sent
        }
        .onMessage("witness-sync", CodecWitness.self) { _, params in params.payload }
        .onMessage("witness-async", CodecWitness.self) { _, params async in params.payload }
        .onMessage(codecWitnessEvent) { _, params in params.payload }
        .onMessage("witness-result", String.self) { _, params in CodecWitness(readBy: params.payload) }
        .onMessage("witness-payload", CodecWitness.self) { _, params in params.payload.readBy }
}

final class RuntimeProbeModule: Module {
    static var providers: [Provider] {
        [.token(provideWsService(testConfig(loopThreads: 2))), .type(RuntimeProbeGateway.self)]
    }
}

extension TestClient {
    func emit(_ json: String) throws { try send(text: json) }
    func next() throws -> String { try receive().text }
}

@Suite(.serialized) struct GatewayRuntimeTests {
    func start() async throws -> RunningApplication {
        try await RunningApplication(RuntimeProbeModule.self)
    }

    @Test func syncHandlerRunsInlineOnTheConnectionsLoopAndAcks() async throws {
        let app = try await start()
        let client = try TestClient(port: app.port, path: "/t/probe")
        try client.emit(#"{"event":"increment","data":41,"id":5}"#)
        #expect(try client.next() == #"{"event":"increment","data":42,"ack":5}"#)
        try client.emit(#"{"event":"where-sync","id":6}"#)
        let reply = try client.next()
        let report = try Array(reply.utf8).withUnsafeBytes { try WsPayloadDecoding.decode(Envelope<LoopReport>.self, from: $0) }
        #expect(report.data.ranOnLoop == report.data.connectionLoop)
        #expect(!report.data.inTask, "a sync handler with nothing queued runs inline, in no task")
        await app.stop()
    }

    @Test func asyncHandlerRunsOnTheExecutorOfTheConnectionsLoop() async throws {
        let app = try await start()
        for _ in 0..<4 {   // connections land on both loops
            let client = try TestClient(port: app.port, path: "/t/probe")
            try client.emit(#"{"event":"where-async","id":1}"#)
            let reply = try client.next()
            let report = try Array(reply.utf8).withUnsafeBytes { try WsPayloadDecoding.decode(Envelope<LoopReport>.self, from: $0) }
            #expect(report.data.ranOnLoop == report.data.connectionLoop)
            #expect(report.data.inTask, "an async handler runs in a task on the loop's executor")
        }
        await app.stop()
    }

    @Test func serverToClientAckRoundTrip() async throws {
        let app = try await start()
        let client = try TestClient(port: app.port, path: "/t/probe")
        try client.emit(#"{"event":"ask","data":"ping?","id":9}"#)
        let question = try client.next()
        #expect(question.hasPrefix(#"{"event":"question","data":"ping?","id":"#))
        let id = question.split(separator: ":").last!.dropLast()
        try client.emit(#"{"ack":\#(id),"data":"pong!"}"#)
        #expect(try client.next() == #"{"event":"ask","data":"pong!","ack":9}"#)
        await app.stop()
    }

    @Test func errorsAreStructuredAndTheConnectionSurvives() async throws {
        let app = try await start()
        let client = try TestClient(port: app.port, path: "/t/probe")
        try client.emit(#"{"event":"fail","id":1}"#)
        #expect(try client.next() == #"{"event":"fail","error":{"code":"nope","message":"as asked"},"ack":1}"#)
        try client.emit(#"{"event":"crash","id":2}"#)
        #expect(try client.next() == #"{"event":"crash","error":{"code":"internal_error","message":"the handler failed"},"ack":2}"#)
        try client.emit(#"{"event":"nothing-here","id":3}"#)
        #expect(try client.next().contains(#""code":"unknown_event""#))
        try client.emit(#"{"event": oops"#)
        #expect(try client.next().contains(#""code":"invalid_envelope""#))
        try client.emit(#"{"event":"increment","data":"x","id":4}"#)
        #expect(try client.next().contains(#""code":"invalid_payload""#))
        try client.emit(#"{"event":"increment","data":1,"id":5}"#)
        #expect(try client.next() == #"{"event":"increment","data":2,"ack":5}"#)
        await app.stop()
    }

    /// A handler that closes its own client, then is acknowledged (the close runs onClose while
    /// the message is being handled): the client gets its close, and the server goes on.
    @Test func aHandlerMayCloseItsOwnClient() async throws {
        let app = try await start()
        for _ in 0..<20 {
            let client = try TestClient(port: app.port, path: "/t/probe")
            try client.emit(#"{"event":"leave-now","id":1}"#)
            var frame = try client.receive()
            while frame.closeCode == nil { frame = try client.receive() }
            #expect(frame.closeCode == 1000)
        }
        let other = try TestClient(port: app.port, path: "/t/probe")
        try other.emit(#"{"event":"increment","data":1,"id":1}"#)
        #expect(try other.next() == #"{"event":"increment","data":2,"ack":1}"#)
        await app.stop()
    }

    /// An object payload is delimited by the envelope scan and validated by its reader: invalid
    /// JSON inside a balanced payload is `invalid_payload`, for a type with its own codec and for
    /// one without, and for a handler that ignores its payload; unbalanced, the envelope is
    /// invalid. The connection, and another client, go on.
    @Test func invalidJsonInsideAPayloadIsRefusedByWhoeverReadsIt() async throws {
        let app = try await start()
        let client = try TestClient(port: app.port, path: "/t/probe")
        let other = try TestClient(port: app.port, path: "/t/probe")
        let bad = [#"{"name":tru}"#, #"{"name":"a",}"#, #"{"name":"a","x":[1,]}"#, #"{"name":"a","n":01}"#, #"[1,]"#]
        for (index, data) in bad.enumerated() {
            for event in ["shout", "increment", "count"] {   // own codec, Codable, payload ignored
                try client.emit(#"{"event":"\#(event)","data":\#(data),"id":\#(index)}"#)
                let reply = try client.next()
                #expect(reply.contains(#""code":"invalid_payload""#) && reply.contains(#""ack":\#(index)"#), "\(event) \(data): \(reply)")
            }
        }
        try client.emit(#"{"event":"shout","data":{"name":"a"],"id":7}"#)   // mismatched, yet closed: the payload
        #expect(try client.next().contains(#""code":"invalid_payload""#))
        try client.emit(#"{"event":"shout","data":{"name":"a","id":7}"#)   // does not close: the envelope
        #expect(try client.next().contains(#""code":"invalid_envelope""#))
        try client.emit(#"{"event":"shout","data":{"name":"ok"},"id":8}"#)
        #expect(try client.next() == #"{"event":"shout","data":{"name":"OK"},"ack":8}"#)
        try other.emit(#"{"event":"increment","data":1,"id":1}"#)
        #expect(try other.next() == #"{"event":"increment","data":2,"ack":1}"#)
        await app.stop()
    }

    /// A @WsJSONCodable payload answers as a Codable one would: the value, and for bad input the
    /// structured error the Codable path makes (the codec declines it).
    @Test func aPayloadWithItsOwnCodecRoundTripsAndReportsBadInputAsCodableDoes() async throws {
        let app = try await start()
        let client = try TestClient(port: app.port, path: "/t/probe")
        try client.emit(#"{"event":"shout","data":{"name":"ab"},"id":1}"#)
        #expect(try client.next() == #"{"event":"shout","data":{"name":"AB"},"ack":1}"#)
        try client.emit(#"{"event":"shout","data":{"nick":"n","name":"c\u00e9"},"id":2}"#)
        #expect(try client.next() == #"{"event":"shout","data":{"name":"CÉ","nick":"n"},"ack":2}"#)
        try client.emit(#"{"event":"shout","data":{"name":1},"id":3}"#)
        #expect(try client.next() == #"{"event":"shout","error":{"code":"invalid_payload","message":"payload does not have the expected shape","issues":[{"path":"name","message":"expected a string"}]},"ack":3}"#)
        try client.emit(#"{"event":"shout","data":{},"id":4}"#)
        #expect(try client.next() == #"{"event":"shout","error":{"code":"invalid_payload","message":"payload does not have the expected shape","issues":[{"path":"name","message":"missing"}]},"ack":4}"#)
        try client.emit(#"{"event":"shout","data":{"name":"ok"},"id":5}"#)
        #expect(try client.next() == #"{"event":"shout","data":{"name":"OK"},"ack":5}"#)
        await app.stop()
    }

    /// The one `onMessage` per form chooses the codec by the types: a payload or result with a
    /// codec of its own is read and written by it, in every form; others by Codable.
    @Test func theCodecIsChosenByThePayloadAndResultTypes() async throws {
        let app = try await start()
        let client = try TestClient(port: app.port, path: "/t/probe")
        for event in ["witness-sync", "witness-async", "witness-typed"] {
            try client.emit(#"{"event":"\#(event)","data":"x","id":1}"#)
            #expect(try client.next() == #"{"event":"\#(event)","data":"read by codec, written by codec","ack":1}"#)
        }
        try client.emit(#"{"event":"witness-result","data":"decodable","id":2}"#)
        #expect(try client.next() == #"{"event":"witness-result","data":"read by decodable, written by codec","ack":2}"#)
        try client.emit(#"{"event":"witness-payload","data":"x","id":3}"#)
        #expect(try client.next() == #"{"event":"witness-payload","data":"codec","ack":3}"#)
        await app.stop()
    }

    @Test func disconnectWithCloseSaysSo() async throws {
        let app = try await start()
        let client = try TestClient(port: app.port, path: "/t/probe")
        let server = try #require(app.service.sockets.first)
        server.disconnect(close: true)
        let close = try client.receive()
        #expect(close.closeCode == 1000)
        #expect(close.payload.dropFirst(2).elementsEqual("server disconnect".utf8))
        await app.stop()
    }

    /// An emit says what became of the message: sent, or the client is gone.
    @Test func emitsReportWhatBecameOfTheMessage() async throws {
        let app = try await start()
        let client = try TestClient(port: app.port, path: "/t/probe")
        try client.emit(#"{"event":"echo-to-self","data":"hi","id":1}"#)
        #expect(try client.next() == #"{"event":"self","data":"hi"}"#)
        #expect(try client.next() == #"{"event":"echo-to-self","data":true,"ack":1}"#)
        let server = try #require(app.service.sockets.first)
        try client.send(opcode: 8, [0x03, 0xe8])   // the client closes
        #expect(try client.receive().closeCode == 1000)
        try await pollUntil { server.isClosed }
        #expect(server.emit("late", "x") == .closed)
        #expect(server.emit("late") == .closed)
        await app.stop()
    }

    @Test func fetchSocketsCountsTheNamespacesClients() async throws {
        let app = try await start()
        let clients = try (0..<3).map { _ in try TestClient(port: app.port, path: "/t/probe") }
        try clients[0].emit(#"{"event":"count","id":1}"#)
        #expect(try clients[0].next() == #"{"event":"count","data":3,"ack":1}"#)
        #expect(app.service.sockets.count == 3)
        #expect(try await app.service.fetchSockets().map(\.id).sorted() == app.service.sockets.map(\.id).sorted())
        #expect(try await app.service.socketsCount() == 3)
        app.service.of("/probe").disconnectSockets()
        for client in clients {
            let close = try client.receive()
            #expect(close.closeCode == 1000)
            #expect(close.payload.dropFirst(2).elementsEqual("server namespace disconnect".utf8))
        }
        await app.stop()
    }
}

struct Envelope<T: Decodable & Sendable>: Decodable, Sendable {
    var event: String
    var data: T
}
