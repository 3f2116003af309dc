/// What a real migration measured with the two hosts' wall clocks, beside the engine's own
/// figures (which use the source's monotonic clock alone). `nil` in a simulation.
///
/// The engine's `downtimeSeconds` runs from the pause to the destination's `running` record
/// arriving back at the source. These say what the two sides and the guest saw: the pause
/// here to the unpause there, and the guest's last console line before the pause to its first
/// after it (for the built-in guests, heartbeats every 100 ms: the guest-visible gap).
/// Differences between the two hosts' clocks are included; on one machine there are none.
public struct WallClockMeasurements: Sendable, Codable, Equatable {
    /// From the pause on the source (its clock) to the unpause on the destination (its clock).
    public var downtimeBothClocksSeconds: Double?
    /// From the guest's last console line on the source before the pause to its first on the
    /// destination after the unpause.
    public var guestVisibleGapSeconds: Double?
    /// Those two lines, as the guest printed them ("hb 41", "hb 42").
    public var lastLineBeforePause: String?
    public var firstLineAfterUnpause: String?
    /// Page writes per second the built-in guest program made while it ran live during the
    /// migration, by its own count (nil for firmware images).
    public var guestWritesPerSecond: Double?
    /// Before the pause, while the guest still ran: how long the destination took to read what
    /// the sockets held (the wait for its `drained`); nil when no drain was asked or its wait
    /// ran out. Without it, those milliseconds would have been downtime.
    public var drainBeforePauseSeconds: Double?

    public init(downtimeBothClocksSeconds: Double? = nil, guestVisibleGapSeconds: Double? = nil,
                lastLineBeforePause: String? = nil, firstLineAfterUnpause: String? = nil) {
        self.downtimeBothClocksSeconds = downtimeBothClocksSeconds
        self.guestVisibleGapSeconds = guestVisibleGapSeconds
        self.lastLineBeforePause = lastLineBeforePause
        self.firstLineAfterUnpause = firstLineAfterUnpause
    }
}
