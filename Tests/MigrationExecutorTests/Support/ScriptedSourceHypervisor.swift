import MigrationCore
import MigrationExecutor
import MigrationStream

/// `InMemoryMigrationTests.PlainHypervisor` with the faults and extras some tests need: a
/// destroy that fails (and is counted), and a digest of memory sent with the state, right or
/// off by one bit.
struct ScriptedSourceHypervisor: SourceHypervisor {
    enum Digest { case none, right, offByOne }

    var plain: InMemoryMigrationTests.PlainHypervisor
    var destroyFails = false
    var digest = Digest.none
    private(set) var destroyTried = false

    init(plain: InMemoryMigrationTests.PlainHypervisor, destroyFails: Bool = false, digest: Digest = .none) {
        self.plain = plain
        self.destroyFails = destroyFails
        self.digest = digest
    }

    mutating func enableDirtyLogging() throws(HostFailure) {}
    mutating func disableDirtyLogging() throws(HostFailure) {}
    mutating func peekDirtyLog() throws(HostFailure) -> DirtyBitmap { try plain.peekDirtyLog() }
    mutating func readAndClearDirtyLog() throws(HostFailure) -> DirtyBitmap { try plain.readAndClearDirtyLog() }
    mutating func setThrottle(percent: Int) throws(HostFailure) {}
    mutating func pauseGuest() throws(HostFailure) { try plain.pauseGuest() }
    mutating func resumeGuest() throws(HostFailure) { try plain.resumeGuest() }

    mutating func captureDeviceState() throws(HostFailure) -> CapturedGuestState {
        var state = try plain.captureDeviceState()
        guard digest != .none else { return state }
        let memory = plain.memory
        let value = MemoryDigest.of(pageCount: memory.pages, pageSizeBytes: 4096) { UnsafeRawPointer(memory.pageAddress($0)) }
        state.memoryDigest = digest == .offByOne ? value ^ 1 : value
        return state
    }

    mutating func destroyGuest() throws(HostFailure) {
        destroyTried = true
        if destroyFails { throw HostFailure("scripted: the source copy does not go") }
    }
}
