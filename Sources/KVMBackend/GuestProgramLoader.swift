import CKVM

/// Where things sit in a built-in guest's physical memory, and how the VMM lays them out before
/// the first run. Identity-mapped with 2 MiB pages, so guest-physical = guest-virtual.
enum GuestMemoryMap {
    static let pml4: Int = 0x1000
    static let pageDirectoryPointers: Int = 0x2000
    /// Four page directories of 512 x 2 MiB: the first 4 GiB.
    static let pageDirectories: Int = 0x3000
    static let parameters: Int = 0x7000
    static let stackTop: Int = 0xF000
    static let program: Int = 0x10000
    /// The workload writes pages from here on.
    static let workloadRegion: Int = 2 << 20

    static func regionPages(memoryBytes: Int) -> Int { (memoryBytes - workloadRegion) / GuestMemory.pageSizeBytes }
}

/// The parameter block the guest program reads (and keeps its state in); offsets in guest.S.
struct GuestParameters {
    static let kind = 0, regionBase = 8, workingSetPages = 16, hotPages = 24, rateA = 32, rateB = 40
    static let tscHz = 48, heartbeatTicks = 56, writeSequence = 64, heartbeatCount = 72
    static let randomState = 88
}

enum GuestProgramLoader {
    /// The program's bytes, from the CKVM shim.
    static var programBytes: UnsafeRawBufferPointer {
        let start = livemig_guest_program_start_address()!
        let end = livemig_guest_program_end_address()!
        return UnsafeRawBufferPointer(start: start, count: end - start)
    }

    /// Writes page tables, the parameter block and the program into fresh guest memory.
    static func load(_ workload: GuestWorkload, into memory: GuestMemory, tscHz: UInt64, seed: UInt64) {
        let base = memory.base
        func store(_ value: UInt64, at address: Int) { base.storeBytes(of: value, toByteOffset: address, as: UInt64.self) }
        // PML4[0] -> PDPT; PDPT[0..3] -> four page directories; each PD maps 512 x 2 MiB.
        store(UInt64(GuestMemoryMap.pageDirectoryPointers | 3), at: GuestMemoryMap.pml4)
        for directory in 0 ..< 4 {
            let directoryAddress = GuestMemoryMap.pageDirectories + directory * 0x1000
            store(UInt64(directoryAddress | 3), at: GuestMemoryMap.pageDirectoryPointers + directory * 8)
            for entry in 0 ..< 512 {
                let physical = UInt64(directory * 512 + entry) << 21
                store(physical | 0x83, at: directoryAddress + entry * 8)  // present, writable, 2 MiB
            }
        }
        let parameters = GuestMemoryMap.parameters
        let rateB = workload.kind == .hotCold ? workload.coldRatePagesPerSecond : 0
        store(workload.kind.rawValue, at: parameters + GuestParameters.kind)
        store(UInt64(GuestMemoryMap.workloadRegion), at: parameters + GuestParameters.regionBase)
        store(UInt64(max(workload.workingSetPages, 1)), at: parameters + GuestParameters.workingSetPages)
        store(UInt64(max(workload.hotPages, 1)), at: parameters + GuestParameters.hotPages)
        store(UInt64(workload.kind == .idle ? 0 : workload.ratePagesPerSecond), at: parameters + GuestParameters.rateA)
        store(UInt64(rateB), at: parameters + GuestParameters.rateB)
        store(tscHz, at: parameters + GuestParameters.tscHz)
        store(tscHz / 10, at: parameters + GuestParameters.heartbeatTicks)
        store(seed | 1, at: parameters + GuestParameters.randomState)
        let program = programBytes
        (base + GuestMemoryMap.program).copyMemory(from: program.baseAddress!, byteCount: program.count)
    }

    /// The guest's own counters, read from its parameter block.
    static func counters(of memory: GuestMemory) -> (writes: UInt64, heartbeats: UInt64) {
        let parameters = memory.base + GuestMemoryMap.parameters
        return (parameters.load(fromByteOffset: GuestParameters.writeSequence, as: UInt64.self),
                parameters.load(fromByteOffset: GuestParameters.heartbeatCount, as: UInt64.self))
    }
}
