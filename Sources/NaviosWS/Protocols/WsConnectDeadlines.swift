/// The Socket.IO connections of one loop that must join a namespace before the connect timeout,
/// in the order they opened. Every connection gets the same timeout, so that is also the order
/// of their deadlines: one sleeping task per loop serves them all, waking for the oldest. (A
/// task per connection held about 2.5 KB for the whole timeout, more than the rest of an idle
/// session put together.)
///
/// Used only on its loop's thread (onOpen, and the loop's executor), like a connection's object.
final class WsConnectDeadlines: @unchecked Sendable {
    struct Entry {
        let id: WsConnectionID
        /// The connection's object when it opened: a later connection given the same id is not it.
        let object: ObjectIdentifier
        let due: ContinuousClock.Instant
    }

    private var entries: [Entry] = []
    /// Entries before it are done with (dropped in bulk, so that taking the oldest is O(1)).
    private var head = 0
    /// Whether the loop's task is waiting for the oldest entry.
    private var waiting = false

    /// Adds a connection; true when no task is waiting for this loop's deadlines and the caller
    /// must start one (it then runs until ``nextDue`` is nil).
    func add(_ entry: Entry) -> Bool {
        entries.append(entry)
        defer { waiting = true }
        return !waiting
    }

    /// The oldest deadline, or nil when none is left: the waiting task then ends, and the next
    /// ``add`` starts another.
    var nextDue: ContinuousClock.Instant? {
        guard head < entries.count else {
            entries.removeAll(keepingCapacity: false)
            head = 0
            waiting = false
            return nil
        }
        return entries[head].due
    }

    /// The entries due by `now`, oldest first, taken off the queue.
    func takeDue(now: ContinuousClock.Instant) -> ArraySlice<Entry> {
        let start = head
        while head < entries.count, entries[head].due <= now { head += 1 }
        let due = entries[start..<head]
        if head >= 1_024, head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return due
    }
}
