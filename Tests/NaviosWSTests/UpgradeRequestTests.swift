import Testing
@testable import NaviosWS
@testable import NaviosWSCore

@Suite struct UpgradeRequestTests {
    @Test func queryItemsArePercentDecoded() {
        let request = WsUpgradeRequest(path: "/ws", query: "token=a%20b&x=1+2&flag&bad=%zz", headers: [], subprotocol: nil)
        let items = request.queryItems
        #expect(items.count == 4)
        #expect(items[0] == ("token", "a b"))
        #expect(items[1] == ("x", "1 2"))
        #expect(items[2] == ("flag", ""))
        #expect(items[3] == ("bad", "%zz"))
    }

    @Test func headerLookupIgnoresCase() {
        let request = WsUpgradeRequest(path: "/", query: "", headers: [("Authorization", "Bearer t")], subprotocol: nil)
        #expect(request.header("authorization") == "Bearer t")
        #expect(request.header("origin") == nil)
    }
}
