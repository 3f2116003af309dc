import CKVM
import Foundation
@testable import KVMBackend
import MigrationExecutor
import XCTest

/// The VMM's MC146818 CMOS/RTC: QEMU's memory-size layout, the clock in BCD or binary and 12- or
/// 24-hour form, a clock the guest sets, and its state carried by a firmware guest's state blob.
final class CmosRtcTests: XCTestCase {
    /// 2026-11-30 21:05:09 UTC, a Monday.
    private let monday: Int64 = 1_796_072_709

    private func read(_ cmos: CmosRtc, _ register: UInt8, at seconds: Int64? = nil) -> UInt8 {
        var copy = cmos
        copy.write(port: 0x70, value: register, hostSeconds: 0)
        return copy.read(port: 0x71, hostSeconds: seconds ?? monday)
    }

    private func write(_ cmos: inout CmosRtc, _ register: UInt8, _ value: UInt8, at seconds: Int64? = nil) {
        cmos.write(port: 0x70, value: register, hostSeconds: 0)
        cmos.write(port: 0x71, value: value, hostSeconds: seconds ?? monday)
    }

    func testMemorySizesFollowQemusLayout() {
        // 64 MiB less a 64 KiB image: 640 KiB base, 64,448 KiB above 1 MiB, 767 x 64 KiB above 16 MiB.
        let cmos = CmosRtc(ramBytes: (64 << 20) - (64 << 10))
        XCTAssertEqual(Int(read(cmos, 0x15)) | Int(read(cmos, 0x16)) << 8, 640)
        XCTAssertEqual(Int(read(cmos, 0x17)) | Int(read(cmos, 0x18)) << 8, 64_448)
        XCTAssertEqual(Int(read(cmos, 0x30)) | Int(read(cmos, 0x31)) << 8, 64_448)
        XCTAssertEqual(Int(read(cmos, 0x34)) | Int(read(cmos, 0x35)) << 8, 767)
        // 3 GiB: both counts saturate at 65,535 KiB and stay exact in 64 KiB units.
        let large = CmosRtc(ramBytes: 3 << 30)
        XCTAssertEqual(Int(read(large, 0x30)) | Int(read(large, 0x31)) << 8, 65_535)
        XCTAssertEqual(Int(read(large, 0x34)) | Int(read(large, 0x35)) << 8, 48_896)
        XCTAssertEqual(read(large, 0x5b), 0, "nothing above 4 GiB")
        // 8 MiB: nothing above 16 MiB.
        XCTAssertEqual(read(CmosRtc(ramBytes: 8 << 20), 0x34), 0)
        XCTAssertEqual(read(cmos, 0x0d), 0x80, "the battery is good")
        XCTAssertEqual(read(cmos, 0x0a) & 0x80, 0, "never mid-update")
    }

    func testTheClockReadsTheHostsTimeInBCDOrBinary() {
        var cmos = CmosRtc(ramBytes: 16 << 20)
        let bcd = [0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32].map { read(cmos, UInt8($0)) }
        XCTAssertEqual(bcd, [0x09, 0x05, 0x21, 0x02, 0x30, 0x11, 0x26, 0x20])
        write(&cmos, 0x0b, 0x00)  // 12-hour, BCD: 21:05 is 9 PM
        XCTAssertEqual(read(cmos, 0x04), 0x89)
        write(&cmos, 0x0b, 0x06)  // 24-hour, binary
        XCTAssertEqual([0x00, 0x04, 0x07].map { read(cmos, UInt8($0)) }, [9, 21, 30])
    }

    func testAGuestSetsItsClockAndItKeepsRunning() {
        var cmos = CmosRtc(ramBytes: 16 << 20)
        write(&cmos, 0x04, 0x08)  // 08 h, BCD: 13 hours back
        XCTAssertEqual(cmos.clockOffsetSeconds, -13 * 3600)
        XCTAssertEqual(read(cmos, 0x04, at: monday + 60), 0x08)
        XCTAssertEqual(read(cmos, 0x02, at: monday + 60), 0x06, "a minute later on the host, a minute later in the guest")
        write(&cmos, 0x09, 0x30)  // the year 2030
        XCTAssertEqual(read(cmos, 0x09), 0x30)
        XCTAssertEqual(read(cmos, 0x32), 0x20)
        // Status C and D are read-only; A's update-in-progress bit too.
        write(&cmos, 0x0d, 0x00)
        XCTAssertEqual(read(cmos, 0x0d), 0x80)
        write(&cmos, 0x0a, 0xa6)
        XCTAssertEqual(read(cmos, 0x0a), 0x26)
        // A RAM byte keeps what was written; the index ignores the NMI bit.
        write(&cmos, 0x80 | 0x40, 0x5a)
        XCTAssertEqual(read(cmos, 0x40), 0x5a)
    }

    func testWithSETTheFieldsAreWrittenOneByOneAndTheDateTakenWhole() {
        // 31 January 2026: setting 28 February field by field must not pass through 31 February.
        let january31: Int64 = 1_769_860_800  // 2026-01-31 12:00:00 UTC
        var cmos = CmosRtc(ramBytes: 16 << 20)
        write(&cmos, 0x0b, 0x82, at: january31)  // SET, 24-hour, BCD
        XCTAssertEqual(read(cmos, 0x07, at: january31 + 100), 0x31, "while SET the registers hold still")
        write(&cmos, 0x08, 0x02, at: january31)
        write(&cmos, 0x07, 0x28, at: january31)
        write(&cmos, 0x0b, 0x02, at: january31)  // SET cleared: the clock runs from the new date
        XCTAssertEqual([0x08, 0x07].map { read(cmos, UInt8($0), at: january31) }, [0x02, 0x28])
        XCTAssertEqual(cmos.clockOffsetSeconds, 28 * 86_400)
    }

    func testTwelveHourWritesSetTheHour() {
        var cmos = CmosRtc(ramBytes: 16 << 20)
        write(&cmos, 0x0b, 0x00)  // 12-hour, BCD
        write(&cmos, 0x04, 0x80 | 0x12)  // 12 PM: noon
        write(&cmos, 0x0b, 0x02)
        XCTAssertEqual(read(cmos, 0x04), 0x12)
        write(&cmos, 0x0b, 0x00)
        write(&cmos, 0x04, 0x12)  // 12 AM: midnight
        write(&cmos, 0x0b, 0x02)
        XCTAssertEqual(read(cmos, 0x04), 0x00)
    }

    func testAStateWhoseClockIsOutOfReachIsRefused() throws {
        try requireKVM()
        let source = try KVMGuest.createFirmware(name: "clock", memoryBytes: 16 << 20, image: FirmwareImage.testImage)
        defer { source.destroy() }
        var state = try source.captureVcpuState()
        // The header's clock offset, as a peer could send it.
        let offset = MemoryLayout<livemig_kvm_firmware_state_header>.offset(of: \.cmos_clock_offset_seconds)!
        withUnsafeBytes(of: Int64.max.littleEndian) { for (index, byte) in $0.enumerated() { state[offset + index] = byte } }
        let copy = try KVMGuest.createIncoming(name: "clock-copy", memoryBytes: 16 << 20)
        defer { copy.destroy() }
        copy.memory.base.copyMemory(from: source.memory.base, byteCount: 16 << 20)
        XCTAssertThrowsError(try copy.restoreVcpuState(state)) { XCTAssertTrue("\($0)".contains("cmos_clock_offset_seconds"), "\($0)") }
    }

    func testAFirmwareGuestReadsItsRAMSizeFromTheCMOSAndCarriesTheCMOSInItsState() throws {
        try requireKVM()
        let source = try KVMGuest.createFirmware(name: "cmos", memoryBytes: 64 << 20, image: FirmwareImage.testImage)
        defer { source.destroy() }
        source.start()
        XCTAssertTrue(waitUntil(seconds: 10) { source.console.lines.count >= 2 }, "\(source.console.lines.map(\.text))")
        XCTAssertEqual(source.console.lines.map(\.text).prefix(2), ["firmware up", "cmos 767"])
        source.pause()
        var set = try XCTUnwrap(source.cmos)
        write(&set, 0x09, 0x42, at: Int64(Date().timeIntervalSince1970))
        write(&set, 0x41, 0x99)
        source.cmos = set
        let state = try source.captureVcpuState()
        let copy = try KVMGuest.createIncoming(name: "cmos-copy", memoryBytes: 64 << 20)
        defer { copy.destroy() }
        copy.memory.base.copyMemory(from: source.memory.base, byteCount: 64 << 20)
        try copy.restoreVcpuState(state)
        XCTAssertEqual(copy.cmos, set, "the CMOS bytes, index and clock offset came with the state")
    }
}
