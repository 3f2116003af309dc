/// Input the engine did not ask for (`SourceEvent`): a cancel or a new limit mid-flight.
extension SourceMigration {
    /// Takes an event at `now`. A cancel is acted on at the next `poll` once every action out is
    /// in (the abort path then runs as after a failed transfer); a new limit applies from the
    /// next batch. Each value is range-checked here, whoever sent it.
    public mutating func handle(_ event: SourceEvent, now: Double) -> SourceEventAnswer {
        if isFinished { return .refused("the migration has already ended") }
        switch event {
        case .cancel(let reason):
            if clearanceStarted {
                return .refused("too late to cancel: the destination may already have been cleared to run the guest")
            }
            if abortReason == nil && pendingCancelReason == nil { pendingCancelReason = reason }
            return .accepted
        case .setRateLimit(let bytesPerSecond):
            if let bytesPerSecond {
                do {
                    try PolicyBounds.bandwidthCap.check(bytesPerSecond, written: "\(bytesPerSecond) bytes/s")
                } catch {
                    return .refused(error.description)
                }
            }
            settings.rateLimitBytesPerSecond = bytesPerSecond
            // The new cap starts from now: no credit or debt carried over from the old one.
            rateLimiter = bytesPerSecond.map(RateLimiter.init(bytesPerSecond:))
            rateLimiterGeneration &+= 1
            return .accepted
        case .setDowntimeLimit(let seconds):
            do {
                try PolicyBounds.downtimeLimit.check(seconds, written: "\(seconds) s")
            } catch {
                return .refused(error.description)
            }
            guard policy.setDowntimeLimit(seconds: seconds) else {
                return .refused("policy \(policy.name) has no downtime limit to set")
            }
            return .accepted
        }
    }
}
