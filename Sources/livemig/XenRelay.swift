import MigrationExecutor

/// The TLS relay of a Xen migration (libxenguest and libxl read and write a plain descriptor;
/// `TLSRelay` carries it through the TLS connection), on either side.
enum XenRelay {
    /// The longest silence on a Xen migration's link: xl's protocol has a receiver build the
    /// whole domain between the stream's end and its "ready" (tens of seconds under emulation).
    static let idleTimeoutSeconds = 600.0

    /// Ends the relay once the migration is done: closes the plain end, which ends the relay
    /// after it has passed on what it holds, waiting for that at most 30 s.
    static func finish(_ relay: TLSRelay) {
        relay.plainEnd.close()
        _ = try? relay.waitUntilFinished(timeoutSeconds: 30)
    }
}
