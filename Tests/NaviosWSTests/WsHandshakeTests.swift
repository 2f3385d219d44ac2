import Foundation
import NaviosJSON
import Testing
@testable import NaviosWS
@testable import NaviosWSCore

/// A client's handshake keeps the request as it came and reads its dictionaries from it when
/// asked: what it shows must be what the request said.
@Suite struct WsHandshakeTests {
    let request = WsUpgradeRequest(
        path: "/chat", query: "token=a%20b&room=lobby&room=other&flag",
        headers: [("Host", "example.test"), ("X-Trace", "first"), ("x-trace", "second"),
                  ("Authorization", "Bearer  secret-token "), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")],
        subprotocol: nil)

    @Test func headersAreByLowerCasedNameWithTheFirstValue() {
        let headers = WsHandshake(request).headers
        #expect(headers == ["host": "example.test", "x-trace": "first", "authorization": "Bearer  secret-token ",
                            "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="])
    }

    @Test func theQueryIsPercentDecodedWithTheFirstValueAndTheURLIsAsRequested() {
        let handshake = WsHandshake(request)
        #expect(handshake.query == ["token": "a b", "room": "lobby", "flag": ""])
        #expect(handshake.url == "/chat?token=a%20b&room=lobby&room=other&flag")
        let bare = WsHandshake(WsUpgradeRequest(path: "/", query: "", headers: [], subprotocol: nil))
        #expect(bare.query.isEmpty && bare.url == "/" && bare.headers.isEmpty && bare.auth.isEmpty)
    }

    @Test func authIsTheQueryAndTheBearerToken() {
        let auth = WsHandshake(request).auth
        #expect(auth == ["token": .string("secret-token"), "room": .string("lobby"), "flag": .string("")])
        #expect(WsHandshake(request, credentials: false).auth.isEmpty)
    }

    @Test func aSocketIOClientsAuthIsItsConnectPackets() {
        let connection = WsHandshake(request, credentials: false)
        let client = WsHandshake(connection, auth: ["token": .string("from-connect")])
        #expect(client.auth == ["token": .string("from-connect")])
        #expect(client.headers == connection.headers && client.query == connection.query && client.url == connection.url)
    }

    @Test func itCrossesToAnotherInstanceWhole() throws {
        var handshake = WsHandshake(request)
        handshake.secure = true
        handshake.tlsPeerSubject = "CN=alice"
        let decoded = try JSONDecoder().decode(WsHandshake.self, from: JSONEncoder().encode(handshake))
        #expect(decoded == handshake)
        #expect(decoded.auth == handshake.auth && decoded.query == handshake.query && decoded.headers == handshake.headers)
        #expect(decoded.secure && decoded.tlsPeerSubject == "CN=alice")
        #expect(decoded != WsHandshake(request))   // not secure, no subject
    }
}
