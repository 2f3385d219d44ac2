// navios-ws-fuzz: libFuzzer targets for the parsers written in Swift, built by `make fuzz-swift`
// (swift build --sanitize fuzzer --sanitize address, with NAVIOS_FUZZ defined). One binary; the
// environment variable NAVIOS_FUZZ_TARGET picks the parser:
//   json      WsPayloadDecoding.decode (the validator, then the in-place reader, then
//             JSONDecoder) never fails other than with WsPayloadError; what the in-place reader
//             reads of a valid text equals what JSONDecoder reads.
//   socketio  SocketIOPacket.parse: every range it reports lies in the input, its numbers are
//             within their limits, and its payload is valid JSON.
//   cluster   WsClusterWire.decode: what decodes encodes again to a message that decodes equal.
import Foundation
import NaviosJSON
@testable import NaviosWS

enum Target: String { case json, socketio, cluster }

let target = Target(rawValue: ProcessInfo.processInfo.environment["NAVIOS_FUZZ_TARGET"] ?? "") ?? {
    fatalError("set NAVIOS_FUZZ_TARGET to json, socketio or cluster")
}()

/// libFuzzer's driver, run from this executable's own main (SwiftPM names every executable's
/// entry point itself, so libFuzzer's main is not the one linked).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@main
struct FuzzMain {
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runFuzzerDriver(&argc, &argv, fuzzOne))
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    switch target {
    case .json: fuzzJSON(bytes)
    case .socketio: fuzzSocketIO(bytes)
    case .cluster: fuzzCluster(bytes)
    }
    return 0
}

func fuzzJSON(_ bytes: UnsafeRawBufferPointer) {
    let decoded: WsJSONValue
    do {
        decoded = try WsPayloadDecoding.decode(WsJSONValue.self, from: bytes)
    } catch {
        return   // typed: only WsPayloadError can come out
    }
    guard isValidJSON(bytes), let inPlace = try? decodeInPlace(WsJSONValue.self, from: bytes),
          let reference = try? JSONDecoder().decode(WsJSONValue.self, from: Data(bytes)) else { return }
    precondition(inPlace == reference, "the in-place reader and JSONDecoder disagree")
    precondition(decoded == inPlace, "the payload path does not return the in-place value")
}

func fuzzSocketIO(_ bytes: UnsafeRawBufferPointer) {
    guard let packet = try? SocketIOPacket.parse(bytes) else { return }
    let whole = 0...bytes.count
    if let namespace = packet.namespace {
        precondition(whole.contains(namespace.lowerBound) && whole.contains(namespace.upperBound))
        precondition(namespace.count <= SocketIOPacket.maxNamespaceBytes)
    }
    if let payload = packet.payload {
        precondition(whole.contains(payload.lowerBound) && whole.contains(payload.upperBound))
        precondition(isValidJSON(UnsafeRawBufferPointer(rebasing: bytes[payload])))
    }
    precondition((0...SocketIOPacket.maxAttachments).contains(packet.attachments))
    if let ack = packet.ackID { precondition(ack >= 0 && ack < 1_000_000_000_000_000) }
}

func fuzzCluster(_ bytes: UnsafeRawBufferPointer) {
    guard let message = WsClusterWire.decode(bytes) else { return }
    let again: [UInt8]
    switch message {
    case .broadcast(let node, let broadcast): again = WsClusterWire.encode(broadcast: broadcast, from: node)
    case .request(let node, let id, let request):
        guard let encoded = try? WsClusterWire.encode(request: request, id: id, from: node) else { return }
        again = encoded
    case .reply(let node, let id, let reply):
        guard let encoded = try? WsClusterWire.encode(reply: reply, id: id, from: node) else { return }
        again = encoded
    }
    let decoded = again.withUnsafeBytes { WsClusterWire.decode($0) }
    precondition(decoded == message, "a decoded message does not survive encoding and decoding again")
}
