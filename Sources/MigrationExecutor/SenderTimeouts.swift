import Glibc
import MigrationCore

/// How long the source waits for the destination in each phase; a wait that runs out fails
/// the step, and the engine's rules decide what follows (before "cleared to unpause": abort
/// and resume here; after it: the guest stays paused here until `livemig guest resume`).
public struct SenderTimeouts: Sendable, Equatable {
    /// From connecting to the destination's challenge (a receiver answers at once).
    public var handshakeSeconds: Double
    /// The longest a send may make no progress (a destination that accepted and stopped reading).
    public var stalledSendSeconds: Double
    /// After the end of the stream: how long the destination may take to say "ready to unpause".
    public var readySeconds: Double
    /// After "cleared to unpause": how long the destination may take to say "running".
    public var runningSeconds: Double
    /// Waiting before the pause for the destination to read what the sockets still hold
    /// (`StreamChannel.drainBeforePause`); past it the guest is paused anyway.
    public var drainSeconds = 1.0

    /// The documented defaults (docs/security.md): 10 s, 60 s, 60 s, 30 s, and 1 s for the drain.
    public init(handshakeSeconds: Double = 10, stalledSendSeconds: Double = 60, readySeconds: Double = 60, runningSeconds: Double = 30) {
        self.handshakeSeconds = handshakeSeconds
        self.stalledSendSeconds = stalledSendSeconds
        self.readySeconds = readySeconds
        self.runningSeconds = runningSeconds
    }
}

extension BlockingSocket {
    /// Gives up on writes that make no progress for `seconds` (0: wait for ever).
    public func setSendTimeout(seconds: Double) {
        guard isSocket else { return }
        SocketOptions.setTimeout(SO_SNDTIMEO, seconds: seconds, on: fd)
    }

    /// Whether `failure` is a read or write that ran out of time (SO_RCVTIMEO / SO_SNDTIMEO).
    public static func isTimeout(_ failure: HostFailure) -> Bool {
        failure.description.hasSuffix(String(cString: strerror(EAGAIN)))
    }
}
