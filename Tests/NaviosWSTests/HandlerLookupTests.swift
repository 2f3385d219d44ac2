import Testing
@testable import NaviosWS

/// A message's event is matched by the first eight bytes in one word, then the rest: names
/// that share their head, that are prefixes of each other or shorter than a word must each
/// find their own handler, and nothing else.
@Suite struct HandlerLookupTests {
    static let names = ["abcdefgh1", "abcdefgh2", "abcdefgh", "abcdefg", "abc", "abcd", "a", "chat:message", "chat:messagE"]

    final class Lookup: WsGateway {
        init() {}
        static let gateway = HandlerLookupTests.names.reduce(WsGatewayDefinition<Lookup>(path: "/lookup")) { definition, name in
            definition.onMessage(name, WsNoResponse.self) { _, _ in }
        }
    }

    static func match(_ gateway: AnyGateway, _ name: String) -> String? {
        Array(name.utf8).withUnsafeBytes { gateway.handler(matching: $0)?.takeUnretainedValue().name }
    }

    @Test func everyNameFindsItsOwnHandlerAndNoOther() {
        let gateway = AnyGateway(Lookup())
        for name in Self.names {
            #expect(Self.match(gateway, name) == name)
        }
        for unknown in ["abcdefgh3", "abcdefgh12", "ab", "abce", "b", "", "chat:messages", "Chat:message"] {
            #expect(Self.match(gateway, unknown) == nil, "\(unknown)")
        }
    }
}
