import Glibc

/// What every socket livemig opens (TCP streams, control sockets, the receiver's listener)
/// sets the same way, written once.
public enum SocketOptions {
    /// POLLRDHUP (0x2000, Linux's <poll.h> under _GNU_SOURCE, which Swift does not see): the
    /// peer shut down its writing side, e.g. a client that sent its request and went away.
    public static let pollPeerClosed: Int16 = 0x2000

    /// Sets `SO_RCVTIMEO` or `SO_SNDTIMEO` of `fd` to `seconds`: 0, or anything not a positive
    /// finite number, waits for ever; at most a day, so that the conversion cannot trap; a
    /// positive time at least a microsecond.
    public static func setTimeout(_ option: Int32, seconds: Double, on fd: Int32) {
        let bounded = seconds.isFinite && seconds > 0 ? min(seconds, 86_400) : 0
        // A positive time rounds up to a whole microsecond: {0, 0} would mean "for ever".
        let microseconds = min(999_999, Int(((bounded - bounded.rounded(.down)) * 1e6).rounded(.up)))
        var timeout = timeval(tv_sec: Int(bounded), tv_usec: microseconds)
        setsockopt(fd, SOL_SOCKET, option, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The current `SO_RCVTIMEO` or `SO_SNDTIMEO` of `fd` in seconds (0: waits for ever), so
    /// that a wait with its own deadline can put the caller's back afterwards.
    /// Nil when it cannot be read (not 0, which would read as "no timeout").
    public static func timeout(_ option: Int32, of fd: Int32) -> Double? {
        var timeout = timeval()
        var length = socklen_t(MemoryLayout<timeval>.size)
        guard getsockopt(fd, SOL_SOCKET, option, &timeout, &length) == 0 else { return nil }
        return Double(timeout.tv_sec) + Double(timeout.tv_usec) / 1e6
    }

    /// The kernel's smoothed round-trip time of TCP socket `fd` (`TCP_INFO`'s `tcpi_rtt`), in
    /// seconds; nil when it cannot be read or has no sample yet.
    public static func smoothedRoundTripSeconds(of fd: Int32) -> Double? {
        var info = tcp_info()
        var length = socklen_t(MemoryLayout<tcp_info>.size)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0, info.tcpi_rtt > 0 else { return nil }
        return Double(info.tcpi_rtt) / 1e6
    }
}
