import NaviosWSCore
import Testing
@testable import NaviosWS

/// One waiting task per loop serves every connect deadline of that loop: it must be started
/// exactly when none waits, see deadlines in order, and stop when none is left.
@Suite struct WsConnectDeadlinesTests {
    let start = ContinuousClock.now
    let object = ObjectIdentifier(WsConnectDeadlinesTests.self)

    func entry(_ id: UInt64, dueAfter ms: Int) -> WsConnectDeadlines.Entry {
        WsConnectDeadlines.Entry(id: WsConnectionID(rawValue: id), object: object, due: start + .milliseconds(ms))
    }

    @Test func onlyTheFirstEntryAskedForAWaitingTask() {
        let deadlines = WsConnectDeadlines()
        #expect(deadlines.add(entry(1, dueAfter: 10)))
        #expect(!deadlines.add(entry(2, dueAfter: 20)))
        #expect(deadlines.nextDue == start + .milliseconds(10))
    }

    @Test func dueEntriesComeOutOldestFirstAndTheRestWait() {
        let deadlines = WsConnectDeadlines()
        for id in 1...3 { _ = deadlines.add(entry(UInt64(id), dueAfter: id * 10)) }
        #expect(deadlines.takeDue(now: start + .milliseconds(25)).map(\.id.rawValue) == [1, 2])
        #expect(deadlines.nextDue == start + .milliseconds(30))
        #expect(deadlines.takeDue(now: start + .milliseconds(29)).isEmpty)
        #expect(deadlines.takeDue(now: start + .milliseconds(30)).map(\.id.rawValue) == [3])
    }

    @Test func anEmptiedQueueEndsTheTaskAndTheNextEntryStartsAnother() {
        let deadlines = WsConnectDeadlines()
        _ = deadlines.add(entry(1, dueAfter: 10))
        _ = deadlines.takeDue(now: start + .milliseconds(10))
        #expect(deadlines.nextDue == nil)   // the task ends here
        #expect(deadlines.add(entry(2, dueAfter: 50)))
        #expect(deadlines.nextDue == start + .milliseconds(50))
    }

    @Test func entriesAddedWhileManyAreTakenKeepTheirOrder() {
        // Enough to make the queue drop what it has taken in bulk.
        let deadlines = WsConnectDeadlines()
        for id in 0..<3_000 { _ = deadlines.add(entry(UInt64(id), dueAfter: id)) }
        var taken: [UInt64] = []
        for step in stride(from: 0, to: 3_000, by: 700) {
            taken += deadlines.takeDue(now: start + .milliseconds(step)).map(\.id.rawValue)
            _ = deadlines.add(entry(UInt64(10_000 + step), dueAfter: 5_000 + step))
        }
        taken += deadlines.takeDue(now: start + .milliseconds(9_000)).map(\.id.rawValue)
        #expect(taken == Array(0..<3_000) + [10_000, 10_700, 11_400, 12_100, 12_800])
        #expect(deadlines.nextDue == nil)
    }
}
