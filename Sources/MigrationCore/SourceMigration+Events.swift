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
            compression.capChanged(to: capForCompression)
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
        case .compressionMeasured(let dataBytes, let frameBytes, let seconds):
            guard settings.compression != .off else { return .refused("this migration does not compress") }
            guard dataBytes > 0, dataBytes.isFinite, frameBytes > 0, frameBytes.isFinite, seconds >= 0, seconds.isFinite else {
                return .refused("a compression measurement of \(dataBytes) bytes to \(frameBytes) in \(seconds) s is not one")
            }
            compression.record(dataBytes: dataBytes, frameBytes: frameBytes, seconds: seconds, capBytesPerSecond: capForCompression)
            return .accepted
        case .pagesRequested(let request):
            return queue(request)
        }
    }

    /// Post-copy's page requests: checked against the guest, taken from the pending set in
    /// pieces of a batch each.
    private mutating func queue(_ request: PageRequest) -> SourceEventAnswer {
        guard let progress = postcopy, abortReason == nil, finalReport == nil else {
            return .refused("no post-copy is under way: the destination holds every page it runs on")
        }
        // Post-copy's round is over, every page gone already: the one asked for is on its way.
        if progress.runningAtSeconds != nil, ledger.round == nil { return .accepted }
        let guestPages = tracker.guestPageCount
        guard request.count.isFinite, request.count >= 0, request.count <= guestPages else {
            return .refused("a request for \(request.count) pages; the guest has \(wholePages(guestPages))")
        }
        if let bad = request.pages.first(where: { $0 < 0 || Double($0) >= guestPages }) {
            return .refused("a request for page \(bad); the guest has \(wholePages(guestPages)) pages")
        }
        postcopy?.requests += 1
        // Taken off the pending set now, a batch at a time: the pages go before any other, and
        // a page asked for again meanwhile is no longer pending (nothing to send twice).
        let batch = settings.maxBatchPages
        var pieces: [PageRequest] = []
        if request.pages.isEmpty {
            var left = request.count
            while left > 0 {
                pieces.append(PageRequest(count: min(left, Double(batch))))
                left -= Double(batch)
            }
        } else {
            for start in stride(from: 0, to: request.pages.count, by: batch) {
                pieces.append(PageRequest(pages: Array(request.pages[start ..< min(start + batch, request.pages.count)])))
            }
        }
        for piece in pieces {
            let taken = tracker.takeRequested(piece, maxPages: batch)
            guard taken.pagesSent > 0 else { continue }
            postcopy?.pagesRequested += taken.pagesSent
            requestedBatches.append(taken)
        }
        return .accepted
    }
}
