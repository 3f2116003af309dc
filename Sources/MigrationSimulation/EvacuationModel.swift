import MigrationCore

/// What an evacuation moves and over what: the guests on one source host, the host's NIC and
/// CPU, and the destinations with their links and room.
public struct EvacuationSetting: Sendable {
    /// One destination host.
    public struct Destination: Sendable, Equatable {
        public var name: String
        /// The link from the source to this destination.
        public var bandwidthBytesPerSecond: Double
        public var latencySeconds: Double
        /// Guest memory this destination can take in all.
        public var memoryBytes: Int
        public init(name: String, bandwidthBytesPerSecond: Double, latencySeconds: Double, memoryBytes: Int) {
            self.name = name
            self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
            self.latencySeconds = latencySeconds
            self.memoryBytes = memoryBytes
        }
    }

    /// One guest to move: its own migration setting (memory, workload, policy, costs); the
    /// setting's link is replaced by the destination's.
    public struct Guest: Sendable {
        public var name: String
        public var config: SimulationConfig
        /// The destination the guest must go to, if the host file pins one.
        public var pinnedDestination: Int?
        public init(name: String, config: SimulationConfig, pinnedDestination: Int? = nil) {
            self.name = name
            self.config = config
            self.pinnedDestination = pinnedDestination
        }
    }

    public var guests: [Guest]
    public var destinations: [Destination]
    /// The source's NIC: every migration's stream leaves through it.
    public var uplinkBytesPerSecond: Double
    /// Cores the source can give to migration senders; senders beyond it share them.
    public var migrationCores: Int
    /// What one sender moves on one core (mapping, copying, checksumming, the socket).
    public var coreBytesPerSecond: Double
    /// Each guest's downtime must stay within this.
    public var downtimeLimitSeconds: Double
    /// An evacuation still running at this virtual time is cut short (guests out are aborted).
    public var maxSimulatedSeconds: Double

    public init(guests: [Guest], destinations: [Destination], uplinkBytesPerSecond: Double, migrationCores: Int,
                coreBytesPerSecond: Double, downtimeLimitSeconds: Double, maxSimulatedSeconds: Double = 86_400) {
        self.guests = guests
        self.destinations = destinations
        self.uplinkBytesPerSecond = uplinkBytesPerSecond
        self.migrationCores = migrationCores
        self.coreBytesPerSecond = coreBytesPerSecond
        self.downtimeLimitSeconds = downtimeLimitSeconds
        self.maxSimulatedSeconds = maxSimulatedSeconds
    }
}

/// An evacuation's schedule: the order guests start in, how many migrate at once (the next
/// starts when one ends), and each guest's destination.
public struct EvacuationSchedule: Sendable, Hashable {
    /// Guest indices in start order.
    public var order: [Int]
    /// Migrations at once, at least 1.
    public var concurrency: Int
    /// The destination index of each guest (by guest index).
    public var destinations: [Int]
    public init(order: [Int], concurrency: Int, destinations: [Int]) {
        self.order = order
        self.concurrency = concurrency
        self.destinations = destinations
    }
}

/// What one guest's migration did within an evacuation, in the evacuation's time.
public struct EvacuatedGuest: Sendable {
    public var guest: Int
    public var destination: Int
    public var startSeconds: Double
    /// When the guest was paused (the start of its downtime), if it was.
    public var pausedAtSeconds: Double?
    public var endSeconds: Double
    public var report: MigrationReport
}

/// What a simulated evacuation produced.
public struct EvacuationOutcome: Sendable {
    /// One entry per guest that started, in the order they ended.
    public var guests: [EvacuatedGuest]
    /// Guests that never started (the evacuation hit its time limit first).
    public var notStarted: [Int]
    /// Guests whose migration started but never ended (none unless a migration could not even
    /// be cut short at the time limit).
    public var unfinished: [Int] = []
    /// When the last migration ended.
    public var finishSeconds: Double
}
