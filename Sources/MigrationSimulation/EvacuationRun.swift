import MigrationCore

/// Several migrations in one discrete-event loop: each guest its own `MigrationLane` (its own
/// engine core), all of them sharing the source's NIC, CPU and the destinations' links
/// max-min fair (`SharedBandwidth`). A schedule says the order and how many run at once; the
/// next guest starts the moment a migration ends.
struct EvacuationRun<Memory: SimulatedMemory, Tracker: PageTracking> where Tracker.DirtyLog == Memory.DirtyLog {
    typealias Lane = MigrationLane<Memory, Tracker>

    private enum Event {
        case step(lane: Int)
        case complete(lane: Int, generation: Int)
        case timeLimit
    }

    /// A transfer on the shared link: what completes it once the bytes have left.
    private struct Transfer {
        var overheadSeconds: Double
        var cpuEndSeconds: Double
    }

    private let setting: EvacuationSetting
    private let schedule: EvacuationSchedule
    /// Each guest's simulated memory and tracker, until its lane takes them.
    private var parts: [(memory: Memory, tracker: Tracker)?]
    private var lanes: [Lane?]
    private var generations: [Int]
    /// Whether each lane has an action out (its completion event carries `generations[lane]`).
    private var inFlight: [Bool]
    private var transfers: [Transfer?]
    private var network: SharedBandwidth
    /// When the next transfer on the shared link ends, at the current rates: kept beside the
    /// heap (rates change at every start and end, so a queued event would go stale each time).
    private var networkAtSeconds: Double?
    private var queue: EventQueue<Event>
    private var nextInOrder = 0
    /// Guests the time limit kept from starting.
    private var notStarted: [Int] = []
    private var running = 0
    private var startSeconds: [Double]
    private var ended: [EvacuatedGuest] = []

    /// Resource indices in `network`: the NIC, the CPU, then one link per destination.
    private static var uplink: Int { 0 }
    private static var cpu: Int { 1 }
    private static func link(_ destination: Int) -> Int { 2 + destination }

    init(setting: EvacuationSetting, schedule: EvacuationSchedule, parts: [(memory: Memory, tracker: Tracker)]) {
        precondition(parts.count == setting.guests.count, "memory and tracker for every guest")
        self.setting = setting
        self.schedule = schedule
        self.parts = parts
        let count = setting.guests.count
        lanes = Array(repeating: nil, count: count)
        generations = Array(repeating: 0, count: count)
        inFlight = Array(repeating: false, count: count)
        transfers = Array(repeating: nil, count: count)
        startSeconds = Array(repeating: 0, count: count)
        network = SharedBandwidth(
            capacities: [setting.uplinkBytesPerSecond, Double(setting.migrationCores) * setting.coreBytesPerSecond]
                + setting.destinations.map(\.bandwidthBytesPerSecond),
            flowCapBytesPerSecond: setting.coreBytesPerSecond, owners: count)
        // Per lane at most a step and a completion; the time limit.
        queue = EventQueue(capacity: 2 * count + 8)
    }

    mutating func run() -> EvacuationOutcome {
        queue.schedule(.timeLimit, at: setting.maxSimulatedSeconds)
        startWhileRoom(now: 0)
        while running > 0 {
            // The link's next end goes first unless a queued event comes at the same time or earlier.
            if let at = networkAtSeconds, at < queue.nextTimeSeconds ?? .infinity {
                transfersEnd(now: at)
                continue
            }
            guard let (now, event) = queue.popNext() else { break }
            switch event {
            case .step(let lane):
                step(lane, now: now)
            case .complete(let lane, let generation):
                guard inFlight[lane], generations[lane] == generation else { continue }
                inFlight[lane] = false
                lanes[lane]!.completeStarted(now: now)
                step(lane, now: now)
            case .timeLimit:
                // Every migration still out is cut short (its link fails: a lane whose next
                // step is queued meets the broken link there), and no other guest starts.
                let reason = "the evacuation reached its limit of \(setting.maxSimulatedSeconds) s of virtual time (plan.maxSeconds)"
                notStarted = Array(schedule.order[nextInOrder...])
                nextInOrder = schedule.order.count
                for lane in lanes.indices where lanes[lane] != nil {
                    lanes[lane]!.breakLink(reason)
                    if inFlight[lane] { cutShort(lane, reason: reason, now: now) }
                }
            }
        }
        // A lane the loop left behind (it never ended, even cut short): started, no report.
        let unfinished = lanes.indices.filter { lanes[$0] != nil }
        return EvacuationOutcome(guests: ended, notStarted: notStarted, unfinished: unfinished,
                                 finishSeconds: ended.map(\.endSeconds).max() ?? 0)
    }

    /// Starts guests in order while fewer than the schedule's concurrency run.
    private mutating func startWhileRoom(now: Double) {
        while running < schedule.concurrency, nextInOrder < schedule.order.count {
            let guest = schedule.order[nextInOrder]
            nextInOrder += 1
            let destination = setting.destinations[schedule.destinations[guest]]
            var config = setting.guests[guest].config
            config.link = LinkModel(bytesPerSecond: destination.bandwidthBytesPerSecond, latencySeconds: destination.latencySeconds,
                                    perBatchOverheadSeconds: config.link.perBatchOverheadSeconds)
            let part = parts[guest]!
            parts[guest] = nil
            lanes[guest] = Lane(config: config, memory: part.memory, tracker: part.tracker)
            startSeconds[guest] = now
            running += 1
            queue.schedule(.step(lane: guest), at: now)
        }
    }

    private mutating func step(_ lane: Int, now: Double) {
        let work = lanes[lane]!.start(now: now)
        generations[lane] += 1
        inFlight[lane] = true
        switch consume work {
        case .finished(let report):
            inFlight[lane] = false
            let pausedAt = report.downtimeSeconds > 0 ? now - report.downtimeSeconds : nil
            ended.append(EvacuatedGuest(guest: lane, destination: schedule.destinations[lane], startSeconds: startSeconds[lane],
                                        pausedAtSeconds: pausedAt, endSeconds: now, report: report))
            lanes[lane] = nil
            running -= 1
            startWhileRoom(now: now)
        case .waitUntil(let seconds):
            schedule(lane, at: seconds)
        case .local(let seconds):
            schedule(lane, at: now + seconds)
        case .transfer(let bytes, let overheadSeconds, let cpuSeconds, _):
            let transfer = Transfer(overheadSeconds: overheadSeconds, cpuEndSeconds: now + cpuSeconds)
            guard bytes > 0 else {
                schedule(lane, at: max(now + overheadSeconds, transfer.cpuEndSeconds))
                return
            }
            transfers[lane] = transfer
            network.start(owner: lane, bytes: bytes,
                          resources: [Self.uplink, Self.cpu, Self.link(schedule.destinations[lane])], now: now)
            rescheduleNetwork()
        }
    }

    /// Schedules the lane's completion; a time beyond any (a wait for a rate limit near 0)
    /// leaves the action out until the time limit cuts it short.
    private mutating func schedule(_ lane: Int, at seconds: Double) {
        guard seconds.isFinite else { return }
        queue.schedule(.complete(lane: lane, generation: generations[lane]), at: seconds)
    }

    /// The transfers due at `now` have left: each lane's action completes after its fixed
    /// per-batch cost (and no earlier than its copy's CPU time).
    private mutating func transfersEnd(now: Double) {
        if let next = network.nextFinish() {
            for lane in network.finish(owner: next.owner, now: now) {
                let transfer = transfers[lane]!
                transfers[lane] = nil
                schedule(lane, at: max(now + transfer.overheadSeconds, transfer.cpuEndSeconds))
            }
        }
        rescheduleNetwork()
    }

    /// The link's next end at the current rates (none while nothing moves).
    private mutating func rescheduleNetwork() {
        networkAtSeconds = network.nextFinish().map(\.atSeconds).flatMap { $0.isFinite ? $0 : nil }
    }

    /// Cuts the lane's action out short with a failure.
    private mutating func cutShort(_ lane: Int, reason: String, now: Double) {
        inFlight[lane] = false
        if transfers[lane] != nil {
            transfers[lane] = nil
            network.cancel(owner: lane, now: now)
            rescheduleNetwork()
        }
        lanes[lane]!.complete(.failed(reason), now: now)
        queue.schedule(.step(lane: lane), at: now)
    }
}
