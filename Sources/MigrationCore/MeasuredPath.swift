/// The path to a destination as a throughput probe measured it (`livemig calibrate
/// --destination`): what the destination's receiver took in, by its own clock, and the round
/// trip the kernel measured on the connection before the data. The calibrated scenario's link
/// comes from it instead of from an assumed rate.
public struct MeasuredPath: Codable, Sendable, Equatable {
    /// The destination as given (`HOST:PORT`).
    public var destination: String
    /// Bytes on the wire of the page batches the destination received (headers and data, as
    /// the engine counts a migration's bytes).
    public var wireBytes: Int
    /// The destination's time from the probe's first record to its end.
    public var seconds: Double
    /// The cap the probe was paced at (the migration's `--rate-limit`), if any.
    public var rateLimitBytesPerSecond: Double?
    /// The kernel's smoothed TCP round trip on the connection before the data (nil where the
    /// socket does not say).
    public var roundTripSeconds: Double?

    public init(destination: String, wireBytes: Int, seconds: Double, rateLimitBytesPerSecond: Double?, roundTripSeconds: Double?) {
        self.destination = destination
        self.wireBytes = wireBytes
        self.seconds = seconds
        self.rateLimitBytesPerSecond = rateLimitBytesPerSecond
        self.roundTripSeconds = roundTripSeconds
    }

    /// The rate achieved, bytes per second (0 when no time passed).
    public var bytesPerSecond: Double { seconds > 0 ? Double(wireBytes) / seconds : 0 }

    /// The share of the cap achieved, when the probe was paced at one.
    public var capEfficiency: Double? {
        guard let cap = rateLimitBytesPerSecond, cap > 0 else { return nil }
        return bytesPerSecond / cap
    }
}
