import MigrationCore

/// Predicts an evacuation under one schedule: every guest's migration with its own engine
/// core, in one event loop, sharing the source's NIC and CPU and the links. One seed per guest
/// (its setting's) reproduces a run exactly.
public enum EvacuationSimulator {
    public static func run(_ setting: EvacuationSetting, schedule: EvacuationSchedule,
                           fidelity: Fidelity) throws(SimulationError) -> EvacuationOutcome {
        try PreparedEvacuation(setting, fidelity: fidelity).run(schedule)
    }
}

/// An evacuation setting checked once, with each guest's fluid regions cut once: a planner
/// simulates the same setting under hundreds of schedules.
public struct PreparedEvacuation: Sendable {
    public let setting: EvacuationSetting
    public let fidelity: Fidelity
    /// Each guest's regions (fluid fidelity only).
    private let regions: [FluidRegions]

    public init(_ setting: EvacuationSetting, fidelity: Fidelity) throws(SimulationError) {
        try Self.validate(setting)
        self.setting = setting
        self.fidelity = fidelity
        var regions: [FluidRegions] = []
        if fidelity == .fluid {
            for guest in setting.guests {
                regions.append(try FluidRegions(workload: guest.config.workload, guestPages: guest.config.guestPages))
            }
        }
        self.regions = regions
    }

    /// Simulates the evacuation under `schedule`.
    public func run(_ schedule: EvacuationSchedule) throws(SimulationError) -> EvacuationOutcome {
        try validate(schedule)
        switch fidelity {
        case .fluid:
            let parts = zip(regions, setting.guests).map { SimulatedParts.fluid($0, policy: $1.config.policy.name) }
            var run = EvacuationRun(setting: setting, schedule: schedule, parts: parts)
            return run.run()
        case .page:
            var parts: [(memory: PageMemory, tracker: BitmapPageTracker)] = []
            for guest in setting.guests { parts.append(try SimulatedParts.page(guest.config)) }
            var run = EvacuationRun(setting: setting, schedule: schedule, parts: parts)
            return run.run()
        }
    }

    /// Checks what the types cannot; errors name the part of the setting.
    static func validate(_ setting: EvacuationSetting) throws(SimulationError) {
        guard !setting.destinations.isEmpty else { throw SimulationError("destinations: at least one is needed") }
        guard setting.uplinkBytesPerSecond > 0, setting.uplinkBytesPerSecond.isFinite else {
            throw SimulationError("source.uplink: must be a positive bandwidth")
        }
        guard setting.migrationCores >= 1 else { throw SimulationError("source.migrationCores: must be at least 1") }
        guard setting.coreBytesPerSecond > 0, setting.coreBytesPerSecond.isFinite else {
            throw SimulationError("source.coreRate: must be a positive bandwidth")
        }
        for destination in setting.destinations where !(destination.bandwidthBytesPerSecond > 0 && destination.bandwidthBytesPerSecond.isFinite) {
            throw SimulationError("destinations.\(destination.name).bandwidth: must be a positive bandwidth")
        }
        guard setting.maxSimulatedSeconds > 0, setting.maxSimulatedSeconds.isFinite else {
            throw SimulationError("plan.maxSeconds: must be a positive, finite time")
        }
        for destination in setting.destinations where !(destination.latencySeconds >= 0 && destination.latencySeconds.isFinite) {
            throw SimulationError("destinations.\(destination.name).latency: must be a finite time >= 0")
        }
        for guest in setting.guests {
            do {
                try guest.config.validate()
            } catch {
                throw SimulationError("guests.\(guest.name): \(error.description)")
            }
        }
    }

    private func validate(_ schedule: EvacuationSchedule) throws(SimulationError) {
        let count = setting.guests.count
        guard schedule.concurrency >= 1 else { throw SimulationError("schedule: concurrency must be at least 1") }
        guard schedule.order.sorted() == Array(0 ..< count) else {
            throw SimulationError("schedule: the order must name every guest exactly once")
        }
        guard schedule.destinations.count == count,
              schedule.destinations.allSatisfy({ setting.destinations.indices.contains($0) }) else {
            throw SimulationError("schedule: every guest needs one of the \(setting.destinations.count) destinations")
        }
    }
}
