import Foundation

/// The 16550 UART at 0x3f8 as far as a polling guest needs it: bytes written to THR go to the
/// console, the line status register always says "transmitter empty, nothing received", and
/// the divisor latch (LCR bit 7, DLAB) diverts writes to 0x3f8/0x3f9 into the divisor, so that
/// a firmware setting the baud rate prints no stray byte. No interrupts, no receive path. The
/// built-in guest program only ever writes 0x3f8 with DLAB clear, which this prints as before.
///
/// Its registers travel in a firmware guest's state blob (8 bytes, `registers`).
struct Serial16550 {
    static let base: UInt16 = 0x3f8
    static let ports: ClosedRange<UInt16> = base ... base + 7

    /// Line status: THR empty (bit 5) and transmitter empty (bit 6).
    static let lineStatusIdle: UInt8 = 0x60
    /// Interrupt identification: no interrupt pending (bit 0).
    static let noInterruptPending: UInt8 = 0x01

    var interruptEnable: UInt8 = 0
    var lineControl: UInt8 = 0
    var modemControl: UInt8 = 0
    var scratch: UInt8 = 0
    var divisorLow: UInt8 = 0
    var divisorHigh: UInt8 = 0

    private var dlab: Bool { lineControl & 0x80 != 0 }

    /// An `out` to one of its ports; returns the byte to print, if it was one.
    mutating func write(port: UInt16, value: UInt8) -> UInt8? {
        switch port - Self.base {
        case 0:
            if dlab { divisorLow = value; return nil }
            return value
        case 1:
            if dlab { divisorHigh = value } else { interruptEnable = value & 0x0f }
        case 3: lineControl = value
        case 4: modemControl = value & 0x1f
        case 7: scratch = value
        default: break   // FCR (2), LSR and MSR (read-only)
        }
        return nil
    }

    /// What an `in` from one of its ports reads.
    func read(port: UInt16) -> UInt8 {
        switch port - Self.base {
        case 0: dlab ? divisorLow : 0         // RBR: nothing ever arrives
        case 1: dlab ? divisorHigh : interruptEnable
        case 2: Self.noInterruptPending
        case 3: lineControl
        case 4: modemControl
        case 5: Self.lineStatusIdle
        case 6: 0                              // MSR: no modem lines
        default: scratch
        }
    }

    var registers: [UInt8] {
        [interruptEnable, lineControl, modemControl, scratch, divisorLow, divisorHigh, 0, 0]
    }

    init() {}

    init(registers: [UInt8]) {
        guard registers.count >= 6 else { return }
        interruptEnable = registers[0]
        lineControl = registers[1]
        modemControl = registers[2]
        scratch = registers[3]
        divisorLow = registers[4]
        divisorHigh = registers[5]
    }
}
