/// What a destination says of a guest when asked by name (`queryGuest` / `guestState`): how
/// `livemig guest resume` decides whether a source left paused after an unknown commit outcome
/// may run its guest again.
public enum GuestPresence: UInt32, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// No guest of that name on the destination: the migration did not complete there.
    case absent = 0
    /// The guest is still arriving (or starting after being cleared): ask again later.
    case arriving = 1
    /// The guest runs on the destination: the source's copy must never run.
    case running = 2
    /// A guest of that name exists there but does not run (paused, stopped on its own).
    case present = 3
    /// The migration asked about committed there: the guest ran there (it may have moved on
    /// or stopped since). The source's paused copy is stale and must never run.
    case committed = 4

    public var description: String {
        switch self {
        case .absent: "absent"
        case .arriving: "arriving"
        case .running: "running"
        case .present: "present, not running"
        case .committed: "committed there"
        }
    }
}
