import CKVM
import Foundation
@testable import KVMBackend
import MigrationCore
import MigrationExecutor
import MigrationStream
import XCTest

/// Firmware guests against the real /dev/kvm: the test firmware (Sources/CKVM/firmware_test.S)
/// boots at the reset vector in real mode, programs the in-kernel PIC and PIT, sleeps in HLT
/// and prints "tick N" every 10 ticks of 100 Hz on the 16550; pausing stops it; its state and
/// memory carry on in a new guest; it migrates live over loopback.
final class FirmwareGuestTests: XCTestCase {
    private let mib = 1 << 20

    private func bootedGuest(name: String = "fw", memoryMiB: Int = 16) throws -> KVMGuest {
        let guest = try KVMGuest.createFirmware(name: name, memoryBytes: memoryMiB * mib, image: FirmwareImage.testImage)
        guest.start()
        XCTAssertTrue(waitUntil(seconds: 5) { guest.console.firmwareTicks.count >= 3 },
                      "the firmware did not tick: \(guest.console.lines.map(\.text)) \(guest.failure ?? "")")
        return guest
    }

    /// The first "tick N" line of `next` follows the last of `previous`: N + 10, or N + 20 when
    /// the pause caught a line half printed (its rest then opens `next`'s console).
    private func assertContinues(_ previous: ConsoleLog, _ next: ConsoleLog, _ message: String = "",
                                 file: StaticString = #filePath, line: UInt = #line) {
        guard let last = previous.firmwareTicks.last?.count, let first = next.firmwareTicks.first?.count else {
            return XCTFail("no tick lines: \(previous.lines.map(\.text)) / \(next.lines.map(\.text)) \(message)", file: file, line: line)
        }
        let cutInHalf = next.lines.first.map { !$0.text.hasPrefix("tick ") } ?? false
        XCTAssertTrue(first == last + 10 || (cutInHalf && first == last + 20),
                      "the first line after the move (\(first)) does not follow the last before it (\(last)) \(message)",
                      file: file, line: line)
        let printed = next.firmwareTicks.map(\.count)
        XCTAssertEqual(printed, Array(0 ..< printed.count).map { first + 10 * $0 }, message, file: file, line: line)
    }

    private func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    func testFirmwareGuestBootsAndTicksAtThePITRateWhileSleepingInHLT() throws {
        try requireKVM()
        let guest = try KVMGuest.createFirmware(name: "boot", memoryBytes: 16 * mib, image: FirmwareImage.testImage)
        defer { guest.destroy() }
        XCTAssertEqual(guest.firmware?.imageBytes, 64 << 10)
        XCTAssertEqual(guest.firmwareDescription, "firmware,image=65536")
        let cpuBefore = processCPUSeconds()
        let start = monotonicSeconds()
        guest.start()
        usleep(1_500_000)
        let elapsed = monotonicSeconds() - start
        let cpu = processCPUSeconds() - cpuBefore
        let ticks = FirmwareImage.testTicks(of: guest.memory)
        XCTAssertNil(guest.failure)
        XCTAssertEqual(guest.console.lines.first?.text, "firmware up", "the 16550 divisor write printed nothing")
        let lines = guest.console.firmwareTicks
        XCTAssertGreaterThanOrEqual(lines.count, 5, "\(guest.console.lines.map(\.text))")
        XCTAssertEqual(lines.map(\.count), Array(1 ... lines.count).map { $0 * 10 })
        // The PIT at 100 Hz paces it: about 150 ticks in 1.5 s, a line every 100 ms.
        XCTAssertEqual(Double(ticks) / elapsed, 100, accuracy: 25, "\(ticks) ticks in \(elapsed) s")
        if lines.count >= 2 {
            let spacing = (lines.last!.seconds - lines.first!.seconds) / Double(lines.count - 1)
            XCTAssertEqual(spacing, 0.1, accuracy: 0.04)
        }
        // Sleeping in HLT between ticks: far from a whole core.
        XCTAssertLessThan(cpu, 0.3 * elapsed, "the process used \(cpu) s of CPU in \(elapsed) s")
    }

    func testPauseStopsTheTicksAndResumeRestartsThem() throws {
        try requireKVM()
        let guest = try bootedGuest()
        defer { guest.destroy() }
        guest.pause()
        XCTAssertFalse(guest.isRunning)
        let ticks = FirmwareImage.testTicks(of: guest.memory)
        let lines = guest.console.lines.count
        usleep(300_000)
        XCTAssertEqual(FirmwareImage.testTicks(of: guest.memory), ticks, "a paused guest takes no ticks")
        XCTAssertEqual(guest.console.lines.count, lines, "a paused guest prints nothing")
        guest.resume()
        XCTAssertTrue(waitUntil(seconds: 2) { guest.console.lines.count >= lines + 3 })
        XCTAssertGreaterThan(FirmwareImage.testTicks(of: guest.memory), ticks)
        XCTAssertNil(guest.failure)
    }

    func testStateAndMemoryOfAPausedFirmwareGuestCarryOnInAnIncomingGuest() throws {
        try requireKVM()
        let source = try bootedGuest(name: "src")
        defer { source.destroy() }
        source.pause()
        let state = try source.captureVcpuState()
        XCTAssertEqual(state.count, livemig_kvm_firmware_state_size())
        XCTAssertLessThanOrEqual(state.count, StreamLimits.maxVcpuStateBytes, "it fits a vcpuState record")

        let copy = try KVMGuest.createIncoming(name: "dst", memoryBytes: 16 * mib)
        defer { copy.destroy() }
        XCTAssertNil(copy.firmware)
        copy.memory.base.copyMemory(from: source.memory.base, byteCount: 16 * mib)
        try copy.restoreVcpuState(state)
        XCTAssertEqual(copy.firmware, source.firmware, "the state made it a firmware guest with the same image layout")
        XCTAssertEqual(copy.memory.digest(), source.memory.digest())
        copy.start()
        XCTAssertTrue(waitUntil(seconds: 3) { copy.console.firmwareTicks.count >= 3 },
                      "the copy prints: \(copy.console.lines.map(\.text)) \(copy.failure ?? "")")
        assertContinues(source.console, copy.console)
        XCTAssertNil(copy.failure)
        // Its state goes round again: captured on the copy, restored into a third guest.
        copy.pause()
        let again = try copy.captureVcpuState()
        let third = try KVMGuest.createIncoming(name: "third", memoryBytes: 16 * mib)
        defer { third.destroy() }
        third.memory.base.copyMemory(from: copy.memory.base, byteCount: 16 * mib)
        try third.restoreVcpuState(again)
        third.start()
        XCTAssertTrue(waitUntil(seconds: 3) { third.console.firmwareTicks.count >= 2 })
        assertContinues(copy.console, third.console)
    }

    func testAnIncomingFirmwareGuestIsBuiltFromItsLayoutBeforeItsStateArrives() throws {
        try requireKVM()
        let source = try bootedGuest(name: "early")
        defer { source.destroy() }
        XCTAssertEqual(source.streamLayout.workload, "firmware,image=65536")
        // The VM is a firmware guest's before any state: its creation stays out of the pause.
        let incoming = try KVMIncomingGuest.make(for: source.streamLayout)
        defer { incoming.discard() }
        XCTAssertEqual(incoming.guest.firmware, source.firmware)
        incoming.guest.memory.base.copyMemory(from: source.memory.base, byteCount: 16 * mib)
        source.pause()
        try incoming.loadVcpuState(try source.captureVcpuState(), vcpu: 0)
        try incoming.run()
        XCTAssertTrue(waitUntil(seconds: 3) { incoming.guest.console.firmwareTicks.count >= 2 }, "\(incoming.guest.failure ?? "")")
        // A description that does not fit the memory is only a hint: the guest stays plain.
        var odd = source.streamLayout
        odd.workload = "firmware,image=1048576000"
        let plain = try KVMIncomingGuest.make(for: odd)
        defer { plain.discard() }
        XCTAssertNil(plain.guest.firmware)
    }

    func testStatesOfTheWrongKindOrSizeAreRefused() throws {
        try requireKVM()
        let firmware = try bootedGuest()
        defer { firmware.destroy() }
        firmware.pause()
        let state = try firmware.captureVcpuState()
        // A firmware blob into a guest that has already run (its VM cannot be made again).
        let builtIn = try KVMGuest.create(name: "builtin", memoryBytes: 16 * mib, workload: .idle)
        defer { builtIn.destroy() }
        builtIn.start()
        builtIn.pause()
        XCTAssertThrowsError(try builtIn.restoreVcpuState(state)) { error in
            XCTAssertTrue("\(error)".contains("has not run"), "\(error)")
        }
        // A built-in guest's blob into a firmware guest.
        let builtInState = try builtIn.captureVcpuState()
        XCTAssertThrowsError(try firmware.restoreVcpuState(builtInState))
        // A firmware blob for another memory size.
        let smaller = try KVMGuest.createIncoming(name: "small", memoryBytes: 8 * mib)
        defer { smaller.destroy() }
        XCTAssertThrowsError(try smaller.restoreVcpuState(state)) { error in
            XCTAssertTrue("\(error)".contains("memory"), "\(error)")
        }
        // A damaged one.
        var truncated = state
        truncated.removeLast(8)
        XCTAssertThrowsError(try KVMGuest.createIncoming(name: "t", memoryBytes: 16 * mib).restoreVcpuState(truncated))
    }

    func testDirtyLogCoversTheRAMSlotsAndNeverTheImage() throws {
        try requireKVM()
        let guest = try bootedGuest()
        defer { guest.destroy() }
        try guest.setDirtyLogging(true)
        _ = try guest.readDirtyLog(clear: true)
        usleep(300_000)
        let dirty = try guest.readDirtyLog(clear: true)
        XCTAssertTrue(dirty.contains(0), "the tick counter at 0x500")
        XCTAssertTrue(dirty.contains(6), "the stack below 0x7000")
        let layout = try XCTUnwrap(guest.firmware)
        let imagePages = layout.imageOffset / 4096 ..< layout.memoryBytes / 4096
        XCTAssertFalse(imagePages.contains { dirty.contains($0) }, "the image is read-only")
        guest.pause()
        _ = try guest.readDirtyLog(clear: true)
        XCTAssertEqual(try guest.readDirtyLog(clear: true).count, 0, "nothing ran since the clear")
        try guest.setDirtyLogging(false)
        guest.resume()
        XCTAssertTrue(waitUntil(seconds: 2) { guest.console.firmwareTicks.count >= 6 })
        XCTAssertNil(guest.failure)
    }

    func testWritesToTheImageAreDroppedAndASmallImageRunsFromItsAlias() throws {
        try requireKVM()
        // A 4 KiB image, hand-assembled: at the reset vector a near jump to F000:F000 (the image's
        // first byte, at 0xFFFFF000); there it writes 0x55 over its own first byte through the
        // alias at 0xFF000, reads it back, and prints "R" if the image kept its byte, "W" if not.
        var image = [UInt8](repeating: 0xf4, count: 4096)
        let code: [UInt8] = [
            0xb8, 0x00, 0xf0,                // mov ax, 0xf000
            0x8e, 0xd8,                      // mov ds, ax
            0xc6, 0x06, 0x00, 0xf0, 0x55,    // mov byte [0xf000], 0x55   (0xFF000: read-only)
            0xa0, 0x00, 0xf0,                // mov al, [0xf000]
            0x3c, 0x55,                      // cmp al, 0x55
            0xb0, 0x57,                      // mov al, 'W'
            0x74, 0x02,                      // je +2
            0xb0, 0x52,                      // mov al, 'R'
            0xba, 0xf8, 0x03,                // mov dx, 0x3f8
            0xee,                            // out dx, al
            0xb0, 0x0a,                      // mov al, '\n'
            0xee,                            // out dx, al
            0xf4,                            // hlt (interrupts off: for good)
            0xeb, 0xfd,                      // jmp to the hlt
        ]
        image.replaceSubrange(0 ..< code.count, with: code)
        image.replaceSubrange(0xff0 ..< 0xff3, with: [0xe9, 0x0d, 0xf0])  // jmp near 0xf000
        let guest = try KVMGuest.createFirmware(name: "rom", memoryBytes: 4 * mib, image: image)
        defer { guest.destroy() }
        XCTAssertEqual(guest.firmware?.aliasBytes, 4096)
        guest.start()
        XCTAssertTrue(waitUntil(seconds: 3) { !guest.console.lines.isEmpty }, guest.failure ?? "no output")
        XCTAssertEqual(guest.console.lines.map(\.text), ["R"], "the write to the image was dropped")
        XCTAssertNil(guest.failure)
        XCTAssertEqual(guest.memory.base.load(fromByteOffset: 4 * mib - 4096, as: UInt8.self), 0xb8)
    }

    func testSlotBitmapsMergeIntoOneBitmapOverGuestMemory() {
        var bitmap = DirtyBitmap(pageCount: 1100)
        KVMGuest.merge([0b1011, 1 << 63], at: 128, pageCount: 100, into: &bitmap)
        XCTAssertEqual((0 ..< 1100).filter { bitmap.contains($0) }, [128, 129, 131])
        KVMGuest.merge([0b101, 1 << 3], at: 1000, pageCount: 68, into: &bitmap)
        XCTAssertEqual((0 ..< 1100).filter { bitmap.contains($0) }, [128, 129, 131, 1000, 1002, 1067])
    }

    func testImagesAreCheckedAndTheTestImageHasAResetVector() throws {
        let image = FirmwareImage.testImage
        XCTAssertEqual(image.count, 64 << 10)
        XCTAssertEqual(image[0xfff0], 0xea, "a far jump at the reset vector")
        XCTAssertEqual(Array(image[0xfff3 ... 0xfff4]), [0x00, 0xf0], "into segment F000")
        XCTAssertThrowsError(try FirmwareLayout(memoryBytes: 16 * mib, imageBytes: 1000))
        XCTAssertThrowsError(try FirmwareLayout(memoryBytes: 16 * mib, imageBytes: 2 * mib))
        XCTAssertThrowsError(try FirmwareLayout(memoryBytes: 4 << 30, imageBytes: 64 << 10))
        let layout = try FirmwareLayout(memoryBytes: 16 * mib, imageBytes: 128 << 10)
        let slots = layout.slots(readOnlyImage: true)
        XCTAssertEqual(slots.map(\.guestPhysical), [0, 0x100000, 0xFFFE_0000, 0xF0000])
        XCTAssertEqual(slots.map(\.memoryOffset), [0, 0x100000, 16 * mib - (128 << 10), 16 * mib - (64 << 10)])
        XCTAssertEqual(slots.map(\.bytes), [0xF0000, 16 * mib - (128 << 10) - 0x100000, 128 << 10, 64 << 10])
        let path = NSTemporaryDirectory() + "fw-\(getpid()).bin"
        defer { unlink(path) }
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(image)))
        XCTAssertEqual(try FirmwareImage.load(path: path), image)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(image.prefix(1000))))
        XCTAssertThrowsError(try FirmwareImage.load(path: path)) { error in
            XCTAssertTrue("\(error)".contains("4 KiB"), "\(error)")
        }
    }

    func testSerialPortSwallowsDivisorWritesAndReportsAnEmptyTransmitter() {
        var serial = Serial16550()
        XCTAssertEqual(serial.read(port: 0x3fd), 0x60)
        XCTAssertEqual(serial.write(port: 0x3f8, value: 0x41), 0x41)
        _ = serial.write(port: 0x3fb, value: 0x83)
        XCTAssertNil(serial.write(port: 0x3f8, value: 0x01), "DLAB set: the divisor, not a byte")
        XCTAssertEqual(serial.read(port: 0x3f8), 0x01)
        _ = serial.write(port: 0x3fb, value: 0x03)
        XCTAssertEqual(serial.read(port: 0x3fb), 0x03)
        _ = serial.write(port: 0x3ff, value: 0x5a)
        XCTAssertEqual(Serial16550(registers: serial.registers).read(port: 0x3ff), 0x5a)
        XCTAssertEqual(serial.read(port: 0x3fa), 0x01, "no interrupt pending")
    }

    // MARK: Live migration over loopback (the helper of LoopbackMigrationTests)




    func testLiveMigrationOfAFirmwareGuestKeepsItTicking() throws {
        try requireKVM()
        for name in [PolicyName.xen4, .qemu] {
            let guest = try bootedGuest(name: "migrating-\(name)", memoryMiB: 64)
            let outcome = try LoopbackMigrator.migrate(guest, policy: PolicyConfiguration(name: name, timeoutSeconds: 30))
            XCTAssertNil(outcome.receiveError, "\(name)")
            let received = try XCTUnwrap(outcome.received, "\(name)")
            let destination = try XCTUnwrap((received.guest as? KVMIncomingGuest)?.guest)
            defer { destination.destroy() }
            XCTAssertNotEqual(outcome.source.report.outcome, .aborted, outcome.source.report.reason)
            XCTAssertNotNil(outcome.source.sourceDigestAtPause)
            XCTAssertEqual(outcome.destinationDigest, outcome.source.sourceDigestAtPause,
                           "\(name): the destination's memory differs from the source's at the pause")
            XCTAssertFalse(outcome.source.sourceRunning)
            XCTAssertEqual(destination.firmware, guest.firmware)
            XCTAssertGreaterThanOrEqual(outcome.source.report.pagesSent, 64 * mib / 4096, "every page went at least once")
            XCTAssertTrue(waitUntil(seconds: 3) { destination.console.firmwareTicks.count >= 3 },
                          "\(name): the destination prints \(destination.console.lines.map(\.text)) \(destination.failure ?? "")")
            assertContinues(guest.console, destination.console, "\(name)")
            XCTAssertNil(destination.failure)
            // The guest-visible gap: the source's last line to the destination's first, less
            // than the 100 ms between lines plus the downtime and a margin.
            if let sourceLast = guest.console.firmwareTicks.last?.seconds,
               let destinationFirst = destination.console.firmwareTicks.first?.seconds {
                XCTAssertLessThan(destinationFirst - sourceLast, 2.0, "\(name)")
            }
        }
    }
}
