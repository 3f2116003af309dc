/// What is left of a running migration, by the model rather than by the pages pending alone:
/// the rounds still to come, the time they take and the pause at the end.
///
/// The guest's dirtying is refitted at every dirty-log read from the rounds so far (pages
/// dirtied over their summed durations, so one odd round moves it little); the rounds to come
/// are played forward from the current one at the measured transfer rate, each round sending
/// what the one before dirtied, and the migration's own policy (the same `PrecopyPolicy` code)
/// decides at each round's end, as it will in the engine. With steady dirtying the finish this
/// predicts holds still as the migration runs, so the time left only counts down (a frequent
/// complaint about migration progress in KubeVirt and libvirt is an ETA that runs backwards:
/// the pending pages alone leave out every round still to come).
public struct RemainingMigrationEstimate: Sendable, Equatable {
    /// Seconds until the guest runs on the destination.
    public var remainingSeconds: Double
    /// The pause the migration will end with.
    public var downtimeSeconds: Double
    /// Live rounds still to come after the current one.
    public var roundsToCome: Int

    /// One class of pages a guest is expected to write, before any dirty-log read has
    /// measured it (from a calibration: `migrate --validate` passes its model): Poisson writes
    /// over `pages` leave pages (1 - e^(-rate t / pages)) dirty after t seconds; a sweep,
    /// min(pages, rate t).
    public struct DirtyClass: Sendable, Equatable, Codable {
        public var pages: Double
        public var writesPerSecond: Double
        public var sweep: Bool
        public init(pages: Double, writesPerSecond: Double, sweep: Bool = false) {
            self.pages = pages
            self.writesPerSecond = writesPerSecond
            self.sweep = sweep
        }

        func dirtied(in seconds: Double) -> Double {
            guard pages > 0, writesPerSecond > 0, seconds > 0 else { return 0 }
            return sweep ? min(pages, writesPerSecond * seconds) : pages * -Exponential.expMinusOne(-writesPerSecond * seconds / pages)
        }
    }

    /// The migration as it stands: the round under way and the rounds before it.
    public struct State: Sendable {
        /// The round under way, 1 for the first full pass.
        public var round: Int
        public var paused: Bool
        /// Pages the round under way has still to send.
        public var pagesPending: Double
        /// Seconds the round under way has run.
        public var roundElapsedSeconds: Double
        public var totalPagesSent: Double
        public var guestPages: Double
        public var pageSizeBytes: Int
        /// The transfer rate measured so far.
        public var bytesPerSecond: Double
        /// The live rounds completed, with the pages dirtied during each.
        public var completedLiveRounds: [IterationReport]
        /// The dirtying expected before a read has measured it; without it, and before the first
        /// read, the estimate has only the pages pending.
        public var expectedDirtying: [DirtyClass]
        /// Seconds since the migration started (a `timeout` policy counts from there).
        public var elapsedSeconds: Double

        public init(round: Int, paused: Bool, pagesPending: Double, roundElapsedSeconds: Double, totalPagesSent: Double,
                    guestPages: Double, pageSizeBytes: Int, bytesPerSecond: Double, completedLiveRounds: [IterationReport],
                    expectedDirtying: [DirtyClass] = [], elapsedSeconds: Double = 0) {
            self.expectedDirtying = expectedDirtying
            self.elapsedSeconds = elapsedSeconds
            self.round = round
            self.paused = paused
            self.pagesPending = pagesPending
            self.roundElapsedSeconds = roundElapsedSeconds
            self.totalPagesSent = totalPagesSent
            self.guestPages = guestPages
            self.pageSizeBytes = pageSizeBytes
            self.bytesPerSecond = bytesPerSecond
            self.completedLiveRounds = completedLiveRounds
        }
    }

    /// The pause's fixed part beyond its pages: the final dirty-log read, the device state,
    /// the ready / cleared handshake and resuming there (a few ms on these hosts).
    public static let defaultFixedPauseSeconds = 0.005
    /// Rounds played forward at most (a policy that never stops is cut off here).
    static let maxRounds = 1000

    /// Nil until the transfer rate is known.
    public static func estimate(_ state: State, policy configuration: PolicyConfiguration,
                                fixedPauseSeconds: Double = defaultFixedPauseSeconds) -> RemainingMigrationEstimate? {
        let bytesPerPage = Double(state.pageSizeBytes)
        guard state.bytesPerSecond > 0, state.bytesPerSecond.isFinite, bytesPerPage > 0 else { return nil }
        func seconds(_ pages: Double) -> Double { max(0, pages) * bytesPerPage / state.bytesPerSecond }
        if state.paused {
            let left = seconds(state.pagesPending) + fixedPauseSeconds
            return RemainingMigrationEstimate(remainingSeconds: left, downtimeSeconds: left, roundsToCome: 0)
        }
        // Pages dirtied per second of a round, from every completed round together.
        let rounds = state.completedLiveRounds.filter { $0.durationSeconds > 0 }
        let roundSeconds = rounds.reduce(0) { $0 + $1.durationSeconds }
        let dirtyRate = roundSeconds > 0 ? Double(rounds.reduce(0) { $0 + $1.pagesDirtied }) / roundSeconds : 0
        func dirtied(during duration: Double) -> Double {
            // Measured once a read has counted; expected (if known) before.
            let pages = roundSeconds > 0 ? dirtyRate * duration : state.expectedDirtying.reduce(0) { $0 + $1.dirtied(in: duration) }
            return min(state.guestPages, pages)
        }

        var policy = configuration.makePolicy()
        var stats = PrecopyStats(guestPageCount: state.guestPages, pageSizeBytes: state.pageSizeBytes)
        stats.measuredBandwidthBytesPerSecond = state.bytesPerSecond
        stats.totalPagesSent = state.totalPagesSent
        var elapsed = 0.0
        var pending = max(0, state.pagesPending)
        var roundSoFar = state.roundElapsedSeconds
        var round = max(1, state.round)
        var sendDirtyLiveThenPause = false
        var toCome = 0
        for _ in 0 ..< maxRounds {
            let duration = seconds(pending)
            elapsed += duration
            stats.totalPagesSent += pending
            let dirty = dirtied(during: roundSoFar + duration)
            roundSoFar = 0
            if sendDirtyLiveThenPause {
                // Xen 4's last live send is done: the pages it dirtied go in the pause.
                return finish(elapsed: elapsed, pausedPages: dirty)
            }
            stats.iteration = round
            stats.elapsedSeconds = state.elapsedSeconds + elapsed
            stats.dirtyPageCount = nil
            stats.roundPagesSent = pending
            if case .stopAndCopy = policy.afterRound(stats) { return finish(elapsed: elapsed, pausedPages: dirty) }
            stats.dirtyPageCount = dirty
            stats.pendingPageCount = dirty
            // The round played forward is the time since the last read (what the qemu policy's
            // dirty rate is measured over).
            stats.secondsSinceDirtyLogRead = duration
            switch policy.afterDirtyLogRead(stats) {
            case .continuePrecopy:
                break
            case .stopAndCopy(let stop):
                guard stop.sendDirtyPagesLiveFirst else { return finish(elapsed: elapsed, pausedPages: dirty) }
                sendDirtyLiveThenPause = true
            case .abort:
                return nil
            }
            pending = dirty
            round += 1
            toCome += 1
        }
        return finish(elapsed: elapsed, pausedPages: pending)

        func finish(elapsed: Double, pausedPages: Double) -> RemainingMigrationEstimate {
            let pause = seconds(pausedPages) + fixedPauseSeconds
            return RemainingMigrationEstimate(remainingSeconds: elapsed + pause, downtimeSeconds: pause, roundsToCome: toCome)
        }
    }
}
