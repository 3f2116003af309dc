/// Transfers that share capacities, max-min fair: several migrations' streams over the same
/// source NIC, the same link to a destination, and the source's CPU cores. Each flow crosses a
/// set of resources (bytes per second each) and may go no faster than its own cap (one sender
/// thread per migration moves at most one core's worth). Rates come from progressive filling,
/// the textbook max-min fair allocation (Bertsekas & Gallager, "Data Networks", 6.5.2), as
/// SimGrid's network model computes them: raise every unfrozen flow's rate together until a
/// resource fills or a flow meets its cap, freeze those flows, repeat.
///
/// Rates change only when a flow starts or ends, so between those moments every flow moves at
/// a constant rate and the next end is known exactly: the driver schedules one event for it.
struct SharedBandwidth {
    private struct Flow {
        var remainingBytes: Double
        var resources: [Int]
        var bytesPerSecond = 0.0
    }

    /// Bytes per second of each resource.
    let capacities: [Double]
    /// The most one flow may take, bytes per second.
    let flowCapBytesPerSecond: Double
    /// Flows by owner (a lane's index); nil where the owner has none out.
    private var flows: [Flow?]
    /// The owners with a flow out, ascending (the order every loop visits them in): a host of
    /// thousands of guests has a few out at a time.
    private var active: [Int] = []
    private var updatedAtSeconds = 0.0

    init(capacities: [Double], flowCapBytesPerSecond: Double, owners: Int) {
        precondition(capacities.allSatisfy { $0 > 0 } && flowCapBytesPerSecond > 0, "capacities are positive")
        self.capacities = capacities
        self.flowCapBytesPerSecond = flowCapBytesPerSecond
        flows = Array(repeating: nil, count: owners)
    }

    /// The rate `owner`'s flow moves at now, if it has one out.
    func rate(of owner: Int) -> Double? { flows[owner]?.bytesPerSecond }

    /// Starts `owner`'s flow of `bytes` over `resources` at `now`; rates are shared anew.
    mutating func start(owner: Int, bytes: Double, resources: [Int], now: Double) {
        precondition(flows[owner] == nil, "one flow per owner at a time")
        advance(to: now)
        flows[owner] = Flow(remainingBytes: bytes, resources: resources)
        active.insert(owner, at: active.firstIndex { $0 > owner } ?? active.count)
        share()
    }

    /// Ends `owner`'s flow early (its migration was cut short); rates are shared anew.
    mutating func cancel(owner: Int, now: Double) {
        guard flows[owner] != nil else { return }
        advance(to: now)
        flows[owner] = nil
        active.removeAll { $0 == owner }
        share()
    }

    /// The next flow to finish and when, at the current rates.
    func nextFinish() -> (owner: Int, atSeconds: Double)? {
        var best: (owner: Int, atSeconds: Double)?
        for owner in active {
            let flow = flows[owner]!
            guard flow.bytesPerSecond > 0 else { continue }
            let at = updatedAtSeconds + flow.remainingBytes / flow.bytesPerSecond
            if best == nil || at < best!.atSeconds { best = (owner, at) }
        }
        return best
    }

    /// Moves every flow on to `now` and removes those that have finished by then: `owner` (the
    /// one `nextFinish` named) and any other within rounding of done. Rates are shared anew.
    mutating func finish(owner: Int, now: Double) -> [Int] {
        advance(to: now)
        var done: [Int] = []
        for index in active {
            let flow = flows[index]!
            // A millionth of a byte, or of the bytes moved in a nanosecond: rounding, not data.
            if index == owner || flow.remainingBytes <= max(1e-6, flow.bytesPerSecond * 1e-9) {
                flows[index] = nil
                done.append(index)
            }
        }
        active.removeAll { flows[$0] == nil }
        share()
        return done
    }

    private mutating func advance(to now: Double) {
        let elapsed = now - updatedAtSeconds
        if elapsed > 0 {
            for index in active {
                flows[index]!.remainingBytes = max(0, flows[index]!.remainingBytes - flows[index]!.bytesPerSecond * elapsed)
            }
        }
        updatedAtSeconds = max(updatedAtSeconds, now)
    }

    /// Progressive filling over the flows out.
    private mutating func share() {
        var spare = capacities
        for index in active { flows[index]!.bytesPerSecond = 0 }
        var unfrozen = active
        var users = [Int](repeating: 0, count: capacities.count)
        while !unfrozen.isEmpty {
            for resource in users.indices { users[resource] = 0 }
            for index in unfrozen { for resource in flows[index]!.resources { users[resource] += 1 } }
            var step = flowCapBytesPerSecond - flows[unfrozen[0]]!.bytesPerSecond
            for resource in users.indices where users[resource] > 0 {
                step = min(step, spare[resource] / Double(users[resource]))
            }
            step = max(step, 0)
            for index in unfrozen { flows[index]!.bytesPerSecond += step }
            for resource in users.indices { spare[resource] -= step * Double(users[resource]) }
            let full = spare.indices.map { spare[$0] <= capacities[$0] * 1e-12 }
            unfrozen.removeAll { index in
                let flow = flows[index]!
                return flow.bytesPerSecond >= flowCapBytesPerSecond * (1 - 1e-12) || flow.resources.contains { full[$0] }
            }
        }
    }
}
