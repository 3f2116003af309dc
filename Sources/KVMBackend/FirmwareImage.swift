import CKVM
import Foundation

/// Firmware images for `KVMGuest.createFirmware`: read from a file (`--image FILE`) or the
/// built-in test firmware.
public enum FirmwareImage {
    /// The bytes of an image file, checked against `FirmwareLayout`'s limits (a multiple of
    /// 4 KiB, at most 1 MiB).
    public static func load(path: String) throws(KVMError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KVMError("--image \(path): the file cannot be read")
        }
        let bytes = [UInt8](data)
        guard !bytes.isEmpty, bytes.count <= FirmwareLayout.maxImageBytes,
              bytes.count % GuestMemory.pageSizeBytes == 0 else {
            throw KVMError("--image \(path): a firmware image must be a multiple of 4 KiB from 4 KiB to 1 MiB (it is \(bytes.count) bytes)")
        }
        return bytes
    }

    /// The test firmware (Sources/CKVM/firmware_test.S): 64 KiB, real mode, PIC + PIT at
    /// 100 Hz, sleeps in HLT and prints "tick N" (N = 10, 20, ...) every 10 ticks.
    public static var testImage: [UInt8] {
        let start = livemig_firmware_test_image_start_address()!
        let end = livemig_firmware_test_image_end_address()!
        return [UInt8](UnsafeRawBufferPointer(start: start, count: end - start))
    }

    /// The test firmware's tick counter (the 32-bit word at guest-physical 0x500).
    public static func testTicks(of memory: GuestMemory) -> UInt32 {
        memory.base.load(fromByteOffset: 0x500, as: UInt32.self)
    }
}

extension ConsoleLog {
    /// The test firmware's "tick N" lines: their numbers and times.
    public var firmwareTicks: [(count: Int, seconds: Double)] {
        lines.compactMap { line in
            guard line.text.hasPrefix("tick "), let count = Int(line.text.dropFirst(5)) else { return nil }
            return (count, line.seconds)
        }
    }
}
