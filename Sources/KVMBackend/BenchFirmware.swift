import CKVM

/// The benchmark firmware (Sources/CKVM/firmware_bench.S), the same image for QEMU (`-bios`)
/// and for a livemig firmware guest: a heartbeat line every `heartbeatSeconds` and page writes
/// at a paced rate, both timed by the TSC, whose rate the host supplies (a guest's own
/// calibration was off by up to 2 % here, KVM-NOTES.md).
public struct BenchFirmware: Sendable, Equatable {
    /// How the guest writes memory.
    public enum Writes: Sendable, Equatable {
        /// None: the guest only prints its heartbeat.
        case idle
        /// This many page writes a second.
        case paced(pagesPerSecond: Int)
        /// As many as the vCPU manages (a guest that needs throttling to converge).
        case asFastAsPossible
    }

    public var writes: Writes
    /// Pages the writes land on, from `regionBaseBytes` on.
    public var workingSetPages: Int
    public var regionBaseBytes = 16 << 20
    public var heartbeatSeconds = 0.001
    public var seed: UInt32 = 1
    /// Write every page of RAM above 1 MiB once at boot (a guest with little zero memory, so
    /// that a VMM that skips zero pages, as QEMU does, sends them all too).
    public var fillsRAM = true

    /// Image offset of the parameter block, and guest-physical addresses of the state the
    /// firmware keeps in RAM.
    static let parametersOffset = 0xFF00
    static let heartbeatCountAddress = 0x50c
    static let writeCountAddress = 0x510

    public init(writes: Writes, workingSetPages: Int) {
        self.writes = writes
        self.workingSetPages = workingSetPages
    }

    /// The image with its parameter block set for a TSC of `tscHz`, for a guest of
    /// `memoryBytes` (the working set must fit its RAM below the image).
    public func image(tscHz: UInt64, memoryBytes: Int) throws(KVMError) -> [UInt8] {
        let start = livemig_firmware_bench_image_start_address()!
        let end = livemig_firmware_bench_image_end_address()!
        var image = [UInt8](UnsafeRawBufferPointer(start: start, count: end - start))
        guard tscHz >= 1_000_000, tscHz <= 100_000_000_000 else {
            throw KVMError("the bench firmware: a TSC of \(tscHz) Hz is outside 1 MHz to 100 GHz")
        }
        guard memoryBytes <= FirmwareLayout.maxMemoryBytes else {
            throw KVMError("the bench firmware: a guest of \(memoryBytes) bytes is over a firmware guest's \(FirmwareLayout.maxMemoryBytes)")
        }
        let ramBytes = memoryBytes - image.count
        guard workingSetPages >= 1, regionBaseBytes >= 1 << 20,
              regionBaseBytes + workingSetPages * GuestMemory.pageSizeBytes <= ramBytes else {
            throw KVMError("the bench firmware: a working set of \(workingSetPages) pages from \(regionBaseBytes) bytes does not fit the \(ramBytes) bytes of RAM")
        }
        let ticksPerWrite: UInt32
        switch writes {
        case .idle: ticksPerWrite = .max
        case .asFastAsPossible: ticksPerWrite = 0
        case .paced(let pagesPerSecond):
            guard pagesPerSecond >= 1, UInt64(pagesPerSecond) <= tscHz else {
                throw KVMError("the bench firmware: \(pagesPerSecond) writes/s is outside 1 to one per TSC tick")
            }
            ticksPerWrite = UInt32(clamping: tscHz / UInt64(pagesPerSecond))
        }
        let ticksPerBeat = (Double(tscHz) * heartbeatSeconds).rounded()
        guard heartbeatSeconds > 0, ticksPerBeat >= 1, ticksPerBeat < 0x1p32 else {
            throw KVMError("the bench firmware: a heartbeat every \(heartbeatSeconds) s is not 1 to 2^32 TSC ticks")
        }
        let words: [UInt32] = [ticksPerWrite, UInt32(ticksPerBeat), UInt32(regionBaseBytes), UInt32(workingSetPages), seed,
                               fillsRAM ? UInt32(ramBytes) : 0]
        for (index, word) in words.enumerated() {
            withUnsafeBytes(of: word.littleEndian) { bytes in
                for (byteIndex, byte) in bytes.enumerated() { image[Self.parametersOffset + 4 + 4 * index + byteIndex] = byte }
            }
        }
        return image
    }

    /// The firmware's own counters in a guest's memory: heartbeats printed and pages written.
    public static func counters(of memory: GuestMemory) -> (heartbeats: UInt32, writes: UInt32) {
        (memory.base.load(fromByteOffset: heartbeatCountAddress, as: UInt32.self),
         memory.base.load(fromByteOffset: writeCountAddress, as: UInt32.self))
    }
}
