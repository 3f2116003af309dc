#if canImport(Glibc)
import Glibc
#endif

/// Seconds from `CLOCK_MONOTONIC`: the executors' time for the engine and for durations.
public func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Seconds since the epoch from `CLOCK_REALTIME`: comparable between two processes on one machine.
public func wallClockSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Sleeps until the monotonic clock reads `seconds`, at most a day per call (the option
/// bounds keep a rate-limit wait to seconds; a wait past a day, or not a number, must not trap
/// in the conversion below).
public func sleep(untilMonotonic seconds: Double) {
    let remaining = min(seconds - monotonicSeconds(), 86_400)
    guard remaining > 0 else { return }  // also false for NaN
    var request = timespec(tv_sec: Int(remaining), tv_nsec: Int((remaining - Double(Int(remaining))) * 1e9))
    var left = timespec()
    while nanosleep(&request, &left) != 0 && errno == EINTR { request = left }
}
