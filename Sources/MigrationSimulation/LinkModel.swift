/// The network between source and destination: bandwidth (constant or a piecewise-constant
/// profile over time), one-way latency, and a fixed cost per batch sent.
public struct LinkModel: Sendable, Equatable {
    /// A bandwidth that holds from `fromSeconds` until the next step.
    public struct Step: Sendable, Equatable {
        public var fromSeconds: Double
        public var bytesPerSecond: Double
        public init(fromSeconds: Double, bytesPerSecond: Double) {
            self.fromSeconds = fromSeconds
            self.bytesPerSecond = bytesPerSecond
        }
    }

    /// Steps in time order; the first starts at 0.
    public var bandwidthProfile: [Step]
    public var latencySeconds: Double
    public var perBatchOverheadSeconds: Double

    public init(bandwidthProfile: [Step], latencySeconds: Double = 0, perBatchOverheadSeconds: Double = 0) {
        precondition(!bandwidthProfile.isEmpty && bandwidthProfile[0].fromSeconds == 0, "a profile starts at 0 s")
        self.bandwidthProfile = bandwidthProfile
        self.latencySeconds = latencySeconds
        self.perBatchOverheadSeconds = perBatchOverheadSeconds
    }

    public init(bytesPerSecond: Double, latencySeconds: Double = 0, perBatchOverheadSeconds: Double = 0) {
        self.init(bandwidthProfile: [Step(fromSeconds: 0, bytesPerSecond: bytesPerSecond)],
                  latencySeconds: latencySeconds, perBatchOverheadSeconds: perBatchOverheadSeconds)
    }

    /// When `bytes` put on the link at `startSeconds` have left the sender.
    public func transferEndSeconds(start startSeconds: Double, bytes: Double) -> Double {
        // A constant bandwidth (the usual link): the loop below would compute exactly this.
        if bandwidthProfile.count == 1, bandwidthProfile[0].bytesPerSecond > 0 {
            return bytes > 0 ? startSeconds + bytes / bandwidthProfile[0].bytesPerSecond : startSeconds
        }
        var remaining = bytes
        var now = startSeconds
        var index = bandwidthProfile.lastIndex { $0.fromSeconds <= startSeconds } ?? 0
        while remaining > 0 {
            let rate = bandwidthProfile[index].bytesPerSecond
            let stepEnd = index + 1 < bandwidthProfile.count ? bandwidthProfile[index + 1].fromSeconds : .infinity
            if rate > 0 {
                let finish = now + remaining / rate
                if finish <= stepEnd { return finish }
                remaining -= (stepEnd - now) * rate
            } else if stepEnd == .infinity {
                return .infinity
            }
            now = stepEnd
            index += 1
        }
        return now
    }
}

/// What the source host's CPU and the hypervisor cost, in virtual time.
public struct HostCosts: Sendable, Equatable {
    /// One read-and-clear of the dirty log (or turning logging on or off), per GiB of guest
    /// memory: the hypervisor walks the bitmap and write-protects the pages again.
    public var dirtyLogReadSecondsPerGiB: Double
    /// One peek at the dirty log, per GiB of guest memory: a copy of the bitmap (32 KiB per
    /// GiB), nothing to write-protect. Xen 3 peeks before every batch.
    public var dirtyLogPeekSecondsPerGiB: Double
    /// Copying one page out of the guest (mapping it, checksumming, buffering): the CPU side of
    /// a send, overlapped with the network side.
    public var pageCopySecondsPerPage: Double
    /// Pausing the guest's vCPUs (and resuming them on an abort).
    public var pauseSeconds: Double
    /// Starting the guest on the destination once cleared.
    public var resumeSeconds: Double
    /// Size of the vCPU and device state sent while paused.
    public var deviceStateBytes: Int
    /// The most one stream carries, bytes per second: its sending and receiving threads' CPU
    /// (copies, system calls, TLS) bound it below the link on a fast path; nil: no bound.
    public var streamBytesPerSecond: Double?
    /// The source's cores the streams' threads run on; nil: as many as the streams.
    public var sourceCores: Int?
    /// Compressing one page of data (`migration.compression: zstd`): zstd level 1 moved a mixed
    /// guest's data pages (text and random) at about 280 MB/s on this 2-core machine, 12-14 us a
    /// 4 KiB page with the receiver's decompression beside it (`bench migrate --compress zstd
    /// --memory-mix 0.3,0.4,0.3`).
    public var compressSecondsPerPage: Double = 0.000012
    /// An XBZRLE delta of one page sent before (`migration.compression: xbzrle`): copying the
    /// live page, comparing it with its copy and keeping it; 2 us a 4 KiB page is an estimate
    /// (three passes over 4 KiB at a few GB/s), not yet measured.
    public var deltaSecondsPerPage: Double = 0.000002

    public init(dirtyLogReadSecondsPerGiB: Double = 0.0005, dirtyLogPeekSecondsPerGiB: Double = 0.000005,
                pageCopySecondsPerPage: Double = 0.0000002,
                pauseSeconds: Double = 0.001, resumeSeconds: Double = 0.005, deviceStateBytes: Int = 65_536) {
        self.dirtyLogReadSecondsPerGiB = dirtyLogReadSecondsPerGiB
        self.dirtyLogPeekSecondsPerGiB = dirtyLogPeekSecondsPerGiB
        self.pageCopySecondsPerPage = pageCopySecondsPerPage
        self.pauseSeconds = pauseSeconds
        self.resumeSeconds = resumeSeconds
        self.deviceStateBytes = deviceStateBytes
    }
}
