import MigrationCore

extension MigrationExecutor {
    /// The executor's loop for a parallel migration: page sends go to the data streams, several
    /// out at once (as many as the engine's `maxActionsInFlight` lets out); every other step is
    /// performed here, in the engine's order, as in the serial loop. While sends are out the
    /// loop waits for their ends in 50 ms slices, so that a cancel or an operator's new limit is
    /// taken between them.
    static func runParallel<Hypervisor: SourceHypervisor>(
        _ engine: inout SourceMigration<BitmapPageTracker>, on hypervisor: inout Hypervisor,
        over channel: inout ParallelStreamChannel, cancellation: MigrationCancellation,
        steering: MigrationSteering?, maxDowntimeSeconds: Double?, progress: ((MigrationProgress) -> Void)?
    ) -> MigrationReport where Hypervisor.DirtyLog == DirtyBitmap, Hypervisor.DeviceState == CapturedGuestState {
        var publisher = ProgressPublisher(progress: progress, steering: steering)
        let dataStreams = channel.dataStreams
        defer {
            dataStreams.stop()
            cancellation.detach()
            steering?.end()
        }
        var cancelDelivered = false
        var sendsOut = 0
        var explainedFailure = false
        while true {
            let now = monotonicSeconds()
            deliverOperatorInput(to: &engine, cancellation: cancellation, steering: steering, cancelDelivered: &cancelDelivered, now: now)
            if let tagged = engine.poll(now: now) {
                switch tagged.action {
                case .finished(var report):
                    if report.outcome == .aborted {
                        channel.main.abort(reason: report.reason)
                        dataStreams.abort(reason: report.reason)
                    }
                    report.pausePhases = report.pausePhases?.adding(destination: channel.main.destinationPauseWork)
                    let counts = dataStreams.counts
                    if channel.main.detectsZeroPages { report.zeroPagesSent = counts.zeroPagesSent }
                    report.dataStreams = dataStreams.count
                    report.compressionRatio = counts.compressionRatio
                    return report
                case .send(let batch, let pageCount, let wireBytes):
                    if let reason = cancellation.cancelledReason {
                        engine.complete(tagged.id, .notPerformed("cancelled: \(reason)"), now: monotonicSeconds())
                    } else {
                        // The engine's round number: it moves on only once every send of the round before is in.
                        dataStreams.submit(tagged.id, batch: batch, pageCount: pageCount, wireBytes: wireBytes,
                                           round: UInt64(clamping: engine.roundNumber), compress: engine.compressesSends)
                        sendsOut += 1
                    }
                case .waitUntil(let seconds):
                    waitForCap(until: seconds, steering: steering, cancellation: cancellation)
                    engine.complete(tagged.id, .done, now: monotonicSeconds())
                default:
                    let outcome = performUnlessCancelled(tagged.action, on: &hypervisor, over: &channel, cancellation: cancellation)
                    engine.complete(tagged.id, outcome, now: monotonicSeconds())
                    if case .pauseGuest = tagged.action, let maxDowntimeSeconds {
                        cancellation.armDowntimeWatchdog(seconds: maxDowntimeSeconds)
                    }
                }
            } else {
                precondition(sendsOut > 0, "the engine handed out nothing with no send out")
                if let end = dataStreams.nextCompletion(timeoutSeconds: 0.05) {
                    sendsOut -= 1
                    let id = end.id
                    var outcome = explainedByCancel(end.outcome, cancellation: cancellation)
                    if case .failed = outcome, !explainedFailure, cancellation.cancelledReason == nil {
                        // The first broken data stream: the destination says why on the main connection.
                        explainedFailure = true
                        if let reason = channel.main.destinationAbortReason() { outcome = .failed("the destination aborted: \(reason)") }
                    }
                    engine.complete(id, outcome, now: monotonicSeconds())
                    if let sample = end.compression { _ = engine.handle(sample.event, now: monotonicSeconds()) }
                }
            }
            publisher.publish { elapsed in snapshot(of: engine, counts: dataStreams.counts, streams: dataStreams.count, elapsedSeconds: elapsed) }
        }
    }
}
