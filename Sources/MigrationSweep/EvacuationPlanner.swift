import MigrationCore
import MigrationSimulation

/// One schedule simulated, and how it scores.
public struct EvacuationEvaluation: Sendable {
    public var schedule: EvacuationSchedule
    public var outcome: EvacuationOutcome
    /// Guests that did not end up running on their destination within the downtime limit
    /// (over the limit, fell back beyond it, aborted, or never started).
    public var guestsOverLimit: Int
    public var worstDowntimeSeconds: Double

    public var finishSeconds: Double { outcome.finishSeconds }

    init(schedule: EvacuationSchedule, outcome: EvacuationOutcome, downtimeLimitSeconds: Double) {
        self.schedule = schedule
        self.outcome = outcome
        let missing = outcome.notStarted.count + outcome.unfinished.count
        let over = outcome.guests.filter { guest in
            guest.report.outcome == .aborted || guest.report.downtimeSeconds > downtimeLimitSeconds
        }.count
        guestsOverLimit = missing + over
        worstDowntimeSeconds = outcome.guests.map(\.report.downtimeSeconds).max() ?? 0
    }

    /// Fewer guests over the limit first, then the earlier finish, then the smaller worst pause.
    public func isBetter(than other: EvacuationEvaluation) -> Bool {
        if guestsOverLimit != other.guestsOverLimit { return guestsOverLimit < other.guestsOverLimit }
        if finishSeconds != other.finishSeconds { return finishSeconds < other.finishSeconds }
        return worstDowntimeSeconds < other.worstDowntimeSeconds
    }
}

/// A named way to schedule an evacuation, for comparison with the planner's choice.
public struct EvacuationStrategy: Sendable {
    public var name: String
    public var evaluation: EvacuationEvaluation
}

/// The planner's result: its schedule, the usual strategies' schedules, and the search's size.
public struct EvacuationPlan: Sendable {
    public var best: EvacuationEvaluation
    public var strategies: [EvacuationStrategy]
    public var schedulesTried: Int
    /// How the search went, in a sentence for the report.
    public var method: String
}

/// Chooses the order and the number of migrations at once that empty the host soonest with
/// every guest's downtime within the limit.
///
/// The search: every start order a rule of thumb suggests (the host file's, smallest first,
/// largest first, least- and most-dirtying first) at every concurrency from 1 to the bound,
/// then a local search from the best of them (swap two guests, move one, one more or one fewer
/// at once, a guest to another destination with room), taking any improvement, until a budget of simulations is spent or no move
/// improves. Each evaluation is a full simulation of the evacuation (every engine core
/// deciding its own rounds), so what the planner compares is what the simulator predicts, not
/// a formula. A greedy local search, not an exhaustive one: 12 guests have 479 million orders.
public struct EvacuationPlanner {
    public let setting: EvacuationSetting
    public let fidelity: Fidelity
    public let maxConcurrency: Int
    public let budget: Int
    public let seed: UInt64
    /// Whether the local search may move a guest to another destination with room (else the
    /// first assignment stands).
    public let searchesDestinations: Bool
    /// The first assignment (`EvacuationDestinations`): the rule orders and the comparisons use it.
    private let destinations: [Int]
    /// The setting checked once and ready to run under any schedule.
    private let prepared: PreparedEvacuation

    public init(setting: EvacuationSetting, fidelity: Fidelity = .fluid, maxConcurrency: Int? = nil,
                budget: Int = 600, seed: UInt64 = 1, searchesDestinations: Bool = true,
                startingDestinations: [Int]? = nil) throws(PlanError) {
        guard !setting.guests.isEmpty else { throw PlanError("guests: the host file lists no guests to evacuate") }
        self.setting = setting
        self.fidelity = fidelity
        self.maxConcurrency = min(max(maxConcurrency ?? setting.guests.count, 1), setting.guests.count)
        self.budget = max(budget, 1)
        self.seed = seed
        self.searchesDestinations = searchesDestinations
        do {
            prepared = try PreparedEvacuation(setting, fidelity: fidelity)
        } catch {
            throw PlanError(error.description)
        }
        if let startingDestinations {
            // A caller's own placement (an operator's, or a test's): checked as the greedy one would be.
            guard startingDestinations.count == setting.guests.count,
                  startingDestinations.allSatisfy({ setting.destinations.indices.contains($0) }) else {
                throw PlanError("starting destinations: one of the \(setting.destinations.count) destinations for each of the \(setting.guests.count) guests")
            }
            let used = Self.memoryUsed(startingDestinations, setting)
            if let full = setting.destinations.indices.first(where: { used[$0] > setting.destinations[$0].memoryBytes }) {
                throw PlanError("starting destinations: \(setting.destinations[full].name) would hold \(used[full] >> 20) MiB, over its \(setting.destinations[full].memoryBytes >> 20) MiB")
            }
            destinations = startingDestinations
        } else {
            destinations = try EvacuationDestinations.assign(setting)
        }
    }

    /// Simulates one schedule (with the first assignment of destinations unless given).
    public func evaluate(order: [Int], concurrency: Int, destinations given: [Int]? = nil) throws(PlanError) -> EvacuationEvaluation {
        let schedule = EvacuationSchedule(order: order, concurrency: concurrency, destinations: given ?? destinations)
        do {
            let outcome = try prepared.run(schedule)
            return EvacuationEvaluation(schedule: schedule, outcome: outcome, downtimeLimitSeconds: setting.downtimeLimitSeconds)
        } catch {
            throw PlanError(error.description)
        }
    }

    /// The orders the rules of thumb give, by name.
    public var ruleOrders: [(name: String, order: [Int])] {
        let guests = setting.guests
        let fileOrder = Array(guests.indices)
        // Each key computed once per guest (a trace's rate walks the whole trace).
        func by(_ keys: [Double]) -> [Int] {
            fileOrder.sorted { keys[$0] != keys[$1] ? keys[$0] < keys[$1] : $0 < $1 }
        }
        let size = guests.map { Double($0.config.guestMemoryBytes) }
        let dirtying = guests.map(\.config.workload.writePagesPerSecond)
        return [("host file order", fileOrder), ("smallest first", by(size)), ("largest first", by(size.map { -$0 })),
                ("least-dirtying first", by(dirtying)), ("most-dirtying first", by(dirtying.map { -$0 }))]
    }

    /// Concurrencies the rule-of-thumb phase tries: every one up to 12, then steps of about
    /// half again (16, 24, 36, ...) and the bound itself, so that a host of thousands of guests
    /// does not try thousands of concurrencies per order.
    public static func concurrencyCandidates(upTo bound: Int) -> [Int] {
        var candidates = Array(1 ... min(bound, 12))
        var next = 16
        while next < bound {
            candidates.append(next)
            next += next / 2
        }
        if bound > 12 { candidates.append(bound) }
        return candidates
    }

    public func plan() throws(PlanError) -> EvacuationPlan {
        var tried = 0
        var best: EvacuationEvaluation?
        var bestByRule: [String: EvacuationEvaluation] = [:]
        var byKey: [String: EvacuationEvaluation] = [:]
        /// Each schedule is simulated once; asking again returns the first answer.
        func simulate(_ order: [Int], _ concurrency: Int, _ destinations: [Int]? = nil) throws(PlanError) -> EvacuationEvaluation {
            let key = Self.key(order, concurrency, destinations ?? self.destinations)
            if let known = byKey[key] { return known }
            let evaluation = try evaluate(order: order, concurrency: concurrency, destinations: destinations)
            tried += 1
            byKey[key] = evaluation
            if best == nil || evaluation.isBetter(than: best!) { best = evaluation }
            return evaluation
        }
        let rules = ruleOrders
        // Rule-of-thumb orders, the smaller concurrencies first, within the budget (the first
        // schedule, sequential in host file order, always runs).
        ruleSearch: for concurrency in Self.concurrencyCandidates(upTo: maxConcurrency) {
            for rule in rules {
                guard tried < budget || best == nil else { break ruleSearch }
                let evaluation = try simulate(rule.order, concurrency)
                if bestByRule[rule.name] == nil || evaluation.isBetter(than: bestByRule[rule.name]!) { bestByRule[rule.name] = evaluation }
            }
        }
        var random = SplitMix64(seed: seed)
        // Guests the search may move: not pinned, on a host with more than one destination.
        let movable = searchesDestinations && setting.destinations.count > 1
            ? setting.guests.indices.filter { setting.guests[$0].pinnedDestination == nil } : []
        var current = best!
        var stale = 0
        let count = setting.guests.count
        while tried < budget, stale < 4 * count * count + 8 {
            var order = current.schedule.order
            var concurrency = current.schedule.concurrency
            var placed = current.schedule.destinations
            // A fourth move where a guest may change destination; hosts with one destination
            // search exactly as before.
            switch random.next() % (movable.isEmpty ? 3 : 4) {
            case 0 where count > 1:
                let a = Int(random.next() % UInt64(count)), b = Int(random.next() % UInt64(count))
                order.swapAt(a, b)
            case 1 where count > 1:
                let from = Int(random.next() % UInt64(count)), to = Int(random.next() % UInt64(count))
                order.insert(order.remove(at: from), at: to)
            case 3:
                let guest = movable[Int(random.next() % UInt64(movable.count))]
                let bytes = setting.guests[guest].config.guestMemoryBytes
                let used = Self.memoryUsed(placed, setting)
                let rooms = setting.destinations.indices.filter { $0 != placed[guest] && used[$0] + bytes <= setting.destinations[$0].memoryBytes }
                if !rooms.isEmpty { placed[guest] = rooms[Int(random.next() % UInt64(rooms.count))] }
            default:
                concurrency = min(max(concurrency + (random.next() % 2 == 0 ? 1 : -1), 1), maxConcurrency)
            }
            guard byKey[Self.key(order, concurrency, placed)] == nil else {
                stale += 1
                continue
            }
            let evaluation = try simulate(order, concurrency, placed)
            if evaluation.isBetter(than: current) {
                current = evaluation
                stale = 0
            } else {
                stale += 1
            }
        }
        let searched = tried

        // The comparisons: simulated here if the budget left them out (at most four more).
        let fileOrder = Array(setting.guests.indices)
        var strategies = [
            EvacuationStrategy(name: "sequential", evaluation: try simulate(fileOrder, 1)),
            EvacuationStrategy(name: "all at once", evaluation: try simulate(fileOrder, count)),
        ]
        let bestFileOrder = bestByRule["host file order"]!
        strategies.append(EvacuationStrategy(name: "\(bestFileOrder.schedule.concurrency) at a time (the best k, host file order)",
                                             evaluation: bestFileOrder))
        for rule in rules where ["smallest first", "least-dirtying first"].contains(rule.name) {
            let evaluation: EvacuationEvaluation
            if let known = bestByRule[rule.name] { evaluation = known } else { evaluation = try simulate(rule.order, 1) }
            strategies.append(EvacuationStrategy(name: "\(rule.name) (best k = \(evaluation.schedule.concurrency))", evaluation: evaluation))
        }
        let moves = movable.isEmpty ? "swap, move, ±1 at once" : "swap, move, ±1 at once, another destination"
        let method = "rule-of-thumb orders at 1 to \(maxConcurrency) at once, then a local search from the best (\(moves)); "
            + "\(searched) of a budget of \(budget) schedules searched\(tried > searched ? " and \(tried - searched) more to compare" : "") at \(fidelity.rawValue) fidelity; "
            + (searchesDestinations && setting.destinations.count > 1
                ? "destinations first assigned largest guest first to the link that would finish soonest, then moved by the search where that helps"
                : "destinations assigned before the search (largest guest first to the link that would finish soonest)")
        return EvacuationPlan(best: best!, strategies: strategies, schedulesTried: tried, method: method)
    }

    /// A schedule's key: each is simulated once.
    private static func key(_ order: [Int], _ concurrency: Int, _ destinations: [Int]) -> String {
        "\(order)/\(concurrency)/\(destinations)"
    }

    /// Guest memory each destination takes under an assignment.
    private static func memoryUsed(_ destinations: [Int], _ setting: EvacuationSetting) -> [Int] {
        var used = [Int](repeating: 0, count: setting.destinations.count)
        for (guest, destination) in destinations.enumerated() { used[destination] += setting.guests[guest].config.guestMemoryBytes }
        return used
    }
}
