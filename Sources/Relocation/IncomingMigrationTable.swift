/// The incoming migrations a receiver is running, for its limits: at most `maxIncoming` at
/// once, at most `maxPerPeer` from one peer address.
///
/// An incoming migration is one guest daemon (`livemig guest daemon --incoming`) with the
/// read end of its *arrival pipe*: the daemon holds the write end and closes it once its guest
/// runs here (having written one byte to say so), or by exiting, whichever comes first. So a
/// migration counts from the accepted connection until its guest runs or its daemon is gone,
/// and a daemon that keeps running its guest afterwards no longer counts. The kernel closes
/// the pipe of a daemon that crashes, so nothing is counted for ever; no state file is needed.
public struct IncomingMigrationTable: Sendable {
    public struct Entry: Equatable, Sendable {
        public var processID: Int32
        public var peer: String
        /// The read end of the arrival pipe.
        public var arrivalDescriptor: Int32

        public init(processID: Int32, peer: String, arrivalDescriptor: Int32) {
            self.processID = processID
            self.peer = peer
            self.arrivalDescriptor = arrivalDescriptor
        }
    }

    public enum Admission: Equatable, Sendable {
        case admitted
        /// Refused: `maxIncoming` migrations are under way.
        case tooMany(limit: Int)
        /// Refused: `maxPerPeer` migrations from this peer are under way.
        case tooManyFromPeer(limit: Int)
    }

    public let maxIncoming: Int
    public let maxPerPeer: Int
    public private(set) var entries: [Entry] = []

    public init(maxIncoming: Int, maxPerPeer: Int) {
        self.maxIncoming = maxIncoming
        self.maxPerPeer = maxPerPeer
    }

    /// Whether a new connection from `peer` may start a migration now.
    public func admission(for peer: String) -> Admission {
        if entries.count >= maxIncoming { return .tooMany(limit: maxIncoming) }
        if entries.count(where: { $0.peer == peer }) >= maxPerPeer { return .tooManyFromPeer(limit: maxPerPeer) }
        return .admitted
    }

    public mutating func add(_ entry: Entry) {
        entries.append(entry)
    }

    /// Removes the migration of daemon `processID` (it exited); returns it if it was counted.
    public mutating func removeProcess(_ processID: Int32) -> Entry? {
        guard let index = entries.firstIndex(where: { $0.processID == processID }) else { return nil }
        return entries.remove(at: index)
    }

    /// Removes the migration whose arrival pipe ended; returns it if it was counted.
    public mutating func removeArrival(_ descriptor: Int32) -> Entry? {
        guard let index = entries.firstIndex(where: { $0.arrivalDescriptor == descriptor }) else { return nil }
        return entries.remove(at: index)
    }
}
