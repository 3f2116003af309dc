import Foundation
import MigrationCore
import MigrationStream

/// The destination's side of post-copy once the guest runs without its missing pages: a fault
/// thread that asks the source for each missing page the guest touches (`pageRequest` on the
/// return path, its only writer) and zero-fills a touched page that is not missing (memory never
/// written, which reads as zero without the trap); and the session thread's placing of the pages
/// the source pushes (`place`, `placeZeros`), atomically through the trap.
///
/// No thread of the receiver may touch a missing page itself: it would fault on its own trap
/// and wait for ever (the session thread is the one that would place it). So pages arrive in a
/// staging buffer and go into the guest only by `MissingPages.place`.
final class PostcopyPlacement: @unchecked Sendable {
    private let pages: any MissingPages
    /// The pages missing at the hand-over (fixed).
    private let missing: DirtyBitmap
    private let pageSizeBytes: Int
    private let lock = NSLock()
    /// Under `lock`: missing pages placed, and those asked for, with when their fault was read.
    private var placed: DirtyBitmap
    private var requested: DirtyBitmap
    private var faultSeconds: [Int: Double] = [:]
    private var faults: UInt64 = 0
    private var latencySumSeconds = 0.0
    private var latencyMaxSeconds = 0.0
    private var stopRequested = false
    /// Why the fault thread stopped early (a broken return path): the pushed pages still come.
    private(set) var faultThreadFailure: String?
    private let finished = DispatchSemaphore(value: 0)
    private var started = false
    /// The fault thread's: the return path, and one page of zeros.
    private var requests: ReplyWriter
    private let zeroPage: UnsafeMutableRawPointer
    /// The session thread's: where a pushed batch's data lands before it is placed.
    let staging: UnsafeMutableRawPointer
    /// With `migrate --verify-memory`: the page-wise digest of every page as it arrived (the
    /// session thread adds the missing ones as it places them).
    private(set) var digest: PageWiseDigest?

    /// Faults read at a time before one request goes out (QEMU asks page by page; a burst of
    /// faults, from a vCPU walking memory, goes as one record).
    static let maxFaultsPerRequest = 512

    init(pages: any MissingPages, missing: DirtyBitmap, pageSizeBytes: Int, returnPath: ReplyWriter, digest: PageWiseDigest?) {
        self.pages = pages
        self.missing = missing
        self.pageSizeBytes = pageSizeBytes
        placed = DirtyBitmap(pageCount: missing.pageCount)
        requested = DirtyBitmap(pageCount: missing.pageCount)
        requests = returnPath
        self.digest = digest
        zeroPage = UnsafeMutableRawPointer.allocate(byteCount: pageSizeBytes, alignment: pageSizeBytes)
        zeroPage.initializeMemory(as: UInt8.self, repeating: 0, count: pageSizeBytes)
        staging = UnsafeMutableRawPointer.allocate(byteCount: StreamLimits.maxBatchDataBytes, alignment: pageSizeBytes)
    }

    deinit {
        zeroPage.deallocate()
        staging.deallocate()
    }

    /// Starts the fault thread (before the guest runs).
    func start() {
        started = true
        let thread = Thread { [self] in
            serveFaults()
            finished.signal()
        }
        thread.name = "livemig post-copy faults"
        thread.start()
    }

    /// Stops the fault thread and waits for it (it looks for faults every 100 ms), then closes
    /// the return path. A thread held longer (in a request's write to a peer that reads nothing)
    /// has its connection shut and gets `stopSeconds` more; one still there then keeps its
    /// descriptor (closed, the number could be reused under it), and is said.
    func stop() {
        lock.withLock { stopRequested = true }
        if started {
            if finished.wait(timeout: .now() + 1) == .timedOut {
                shutdown(requests.socket.fd, Int32(SHUT_RDWR))
                if finished.wait(timeout: .now() + Self.stopSeconds) == .timedOut {
                    FileHandle.standardError.write(Data("livemig receive: post-copy's fault thread did not end within \(Self.stopSeconds) s\n".utf8))
                    return
                }
            }
            started = false
        }
        requests.socket.close()
    }

    static let stopSeconds = 10.0

    /// After `stop()`, every missing page placed: the memory stops trapping.
    func endTrap() { pages.end() }

    private var stopping: Bool { lock.withLock { stopRequested } }

    private func serveFaults() {
        var burst: [Int] = []
        while !stopping {
            burst.removeAll(keepingCapacity: true)
            do {
                guard let first = try pages.nextFault(timeoutMilliseconds: 100) else { continue }
                burst.append(first)
                while burst.count < Self.maxFaultsPerRequest, let next = try pages.nextFault(timeoutMilliseconds: 0) { burst.append(next) }
                var toRequest: [UInt64] = []
                var holes: [Int] = []
                let now = monotonicSeconds()
                lock.withLock {
                    for page in burst where page >= 0 && page < missing.pageCount {
                        guard missing.contains(page) else {
                            holes.append(page)
                            continue
                        }
                        guard !placed.contains(page), !requested.contains(page) else { continue }
                        requested.insert(page)
                        faultSeconds[page] = now
                        faults += 1
                        toRequest.append(UInt64(page))
                    }
                }
                // Never written here and not missing: zero, as it would read without the trap.
                for page in holes { _ = try pages.place(page: page, count: 1, from: zeroPage) }
                if !toRequest.isEmpty, faultThreadFailure == nil {
                    do {
                        try requests.send(.pageRequest(pages: toRequest))
                    } catch {
                        // The pushed pages still come; the guest waits longer for them.
                        faultThreadFailure = "the return path failed: \(error.description)"
                    }
                }
            } catch {
                faultThreadFailure = error.description
                return
            }
        }
    }

    /// Session thread: places a pushed batch whose data is in `staging` (`pageNumbers.count`
    /// pages), each a missing page the machine has checked.
    func place(_ pageNumbers: [UInt64]) throws(HostFailure) {
        // Runs of consecutive pages (the background push is mostly in page order) in one copy each.
        var index = 0
        while index < pageNumbers.count {
            var end = index + 1
            while end < pageNumbers.count, pageNumbers[end] == pageNumbers[end - 1] + 1 { end += 1 }
            try placeRun(first: Int(pageNumbers[index]), count: end - index, from: UnsafeRawPointer(staging + index * pageSizeBytes))
            index = end
        }
    }

    /// Session thread: places zero pages the source named, one at a time (from the one zero page).
    func placeZeros(_ pageNumbers: [UInt64]) throws(HostFailure) {
        for number in pageNumbers { try placeRun(first: Int(number), count: 1, from: UnsafeRawPointer(zeroPage)) }
    }

    private func placeRun(first: Int, count: Int, from source: UnsafeRawPointer) throws(HostFailure) {
        if digest != nil {
            for offset in 0 ..< count {
                digest?.add(page: first + offset, bytes: UnsafeRawBufferPointer(start: source + offset * pageSizeBytes, count: pageSizeBytes))
            }
        }
        // Marked placed first: a fault read from now on is one this copy wakes, not a request.
        lock.withLock { placed.insert(range: first ..< first + count) }
        guard try pages.place(page: first, count: count, from: source) else {
            throw HostFailure("a page of \(first) to \(first + count - 1) was already in the guest when the source's copy came")
        }
        let now = monotonicSeconds()
        lock.withLock {
            guard !faultSeconds.isEmpty else { return }
            for page in first ..< first + count {
                guard let faulted = faultSeconds.removeValue(forKey: page) else { continue }
                let waited = now - faulted
                latencySumSeconds += waited
                latencyMaxSeconds = max(latencyMaxSeconds, waited)
            }
        }
    }

    /// What `postcopyComplete` says, once every page is placed and the fault thread stopped.
    var completion: PostcopyCompletion {
        lock.withLock {
            PostcopyCompletion(faults: faults, latencySumMicroseconds: Self.microseconds(latencySumSeconds),
                               latencyMaxMicroseconds: Self.microseconds(latencyMaxSeconds), pageWiseDigest: digest?.value)
        }
    }

    private static func microseconds(_ seconds: Double) -> UInt64 {
        seconds.isFinite && seconds > 0 ? UInt64(min(seconds * 1e6, 1.8e19)) : 0
    }
}
