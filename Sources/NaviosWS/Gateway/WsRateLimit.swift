/// Token-bucket rate limits per client, and optionally per event (DESIGN §3 "rate limit").
public struct WsRateLimit: Sendable {
    /// Messages allowed per second, on average.
    public var messagesPerSecond: Double
    /// Messages allowed in a burst above the average.
    public var burst: Double
    /// Per-event limits, checked in addition to the client-wide one.
    public var perEvent: [String: WsRateLimit.Bucket]
    /// Violations after which the client is closed with 1008; before that each violation is
    /// answered with a `rate_limited` error.
    public var maxViolations: Int

    public struct Bucket: Sendable {
        public var messagesPerSecond: Double
        public var burst: Double
        public init(messagesPerSecond: Double, burst: Double) {
            self.messagesPerSecond = messagesPerSecond
            self.burst = burst
        }
    }

    public init(messagesPerSecond: Double, burst: Double, perEvent: [String: Bucket] = [:], maxViolations: Int = 10) {
        self.messagesPerSecond = messagesPerSecond
        self.burst = burst
        self.perEvent = perEvent
        self.maxViolations = maxViolations
    }
}

/// One client's buckets. Time is passed in, so the arithmetic is tested without clocks.
struct WsRateLimitState: Sendable {
    /// A client's buckets, made at its first counted message (kept in its locked state).
    final class Box: @unchecked Sendable {
        var state = WsRateLimitState()
    }

    private var tokens: Double?
    private var last: ContinuousClock.Instant?
    private var eventTokens: [String: (Double, ContinuousClock.Instant)] = [:]
    private(set) var violations = 0

    enum Verdict: Equatable { case allowed, limited, exceeded }

    mutating func admit(_ event: String, _ limit: WsRateLimit, now: ContinuousClock.Instant) -> Verdict {
        var ok = Self.take(&tokens, &last, rate: limit.messagesPerSecond, burst: limit.burst, now: now)
        if ok, let bucket = limit.perEvent[event] {
            var (eventLevel, eventLast): (Double?, ContinuousClock.Instant?) = eventTokens[event].map { ($0.0, $0.1) } ?? (nil, nil)
            ok = Self.take(&eventLevel, &eventLast, rate: bucket.messagesPerSecond, burst: bucket.burst, now: now)
            eventTokens[event] = (eventLevel!, eventLast!)
        }
        if ok { return .allowed }
        violations += 1
        return violations >= limit.maxViolations ? .exceeded : .limited
    }

    private static func take(_ level: inout Double?, _ last: inout ContinuousClock.Instant?, rate: Double, burst: Double,
                      now: ContinuousClock.Instant) -> Bool {
        var current = level ?? burst
        if let last {
            let elapsed = now - last
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            current = min(burst, current + seconds * rate)
        }
        last = now
        if current >= 1 {
            level = current - 1
            return true
        }
        level = current
        return false
    }
}
