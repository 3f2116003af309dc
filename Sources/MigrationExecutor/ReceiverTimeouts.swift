/// How long the destination waits for the source in each phase of a migration; a wait that
/// runs out aborts the migration and throws the partial guest away (the source, which has not
/// been told "running", keeps or resumes its guest). Each is the longest silence allowed, not
/// a limit on the whole phase: a slow but steady stream never times out.
public struct ReceiverTimeouts: Sendable, Equatable {
    /// From the connection to the stream's guest layout (the source opens with it at once).
    public var handshakeSeconds: Double
    /// The longest silence while the guest arrives (a source reads its dirty log between
    /// passes; at a 1 Mbit/s cap a 4,096-page batch still moves in under 2 minutes).
    public var idleSeconds: Double
    /// After "ready to unpause": how long the source may take to say "cleared to unpause".
    public var commitSeconds: Double
    /// A throughput probe, whole, after its handshake: unlike the others a limit on the total,
    /// since a probe has no guest to bring and a fixed time to take.
    public var probeSeconds: Double

    /// The documented defaults (docs/security.md): 10 s, 120 s, 30 s, 30 s.
    public init(handshakeSeconds: Double = 10, idleSeconds: Double = 120, commitSeconds: Double = 30,
                probeSeconds: Double = ThroughputProbe.maxSeconds) {
        self.handshakeSeconds = handshakeSeconds
        self.idleSeconds = idleSeconds
        self.commitSeconds = commitSeconds
        self.probeSeconds = probeSeconds
    }

    /// For reading a saved guest from a file: nothing to wait for.
    public static let none = ReceiverTimeouts(handshakeSeconds: 0, idleSeconds: 0, commitSeconds: 0, probeSeconds: 0)
}
