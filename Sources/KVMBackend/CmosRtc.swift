import Foundation

/// A PC's CMOS and real-time clock, Motorola MC146818 style, at ports 0x70 (index; bit 7 masks
/// NMI) and 0x71 (data): 128 bytes, of which 0x00-0x09 are the clock, 0x0a-0x0d its status
/// registers and the rest battery-backed RAM that PC firmware reads its configuration from.
///
/// The memory-size bytes follow QEMU's `pc_cmos_init` (hw/i386/pc.c), so firmware written for
/// QEMU finds its RAM: 0x15/0x16 base memory in KiB (at most 640), 0x17/0x18 and 0x30/0x31
/// memory above 1 MiB in KiB (at most 65535), 0x34/0x35 memory above 16 MiB in 64 KiB units
/// (at most 65535), 0x5b-0x5d memory above 4 GiB in 64 KiB units (none here), 0x5f vCPUs - 1.
///
/// The clock reads the host's UTC time plus an offset the guest sets by writing a time register
/// (the offset migrates with the guest, so a guest's clock stays set on its new host). Status
/// register A reads 0x26 (32.768 kHz base, 1024 Hz rate; update-in-progress never set: the
/// value is computed at the read), B 0x02 by default (24-hour, BCD), C 0 (no interrupts are
/// raised), D 0x80 (the battery is good).
struct CmosRtc: Equatable {
    static let indexPort: UInt16 = 0x70
    static let dataPort: UInt16 = 0x71
    static let ports: ClosedRange<UInt16> = 0x70 ... 0x71
    static let size = 128

    private(set) var bytes: [UInt8]
    private(set) var index: UInt8 = 0
    /// Seconds the guest's clock runs ahead of the host's UTC clock.
    private(set) var clockOffsetSeconds: Int64 = 0
    /// The most a guest can set its clock from the host's: the registers hold years 1900 to
    /// 9999 (century 19-99), so about 8,100 years either way. An offset from a state blob
    /// beyond it is refused (`isPlausibleClockOffset`): the date arithmetic must not overflow.
    static let maxClockOffsetSeconds: Int64 = 8_100 * 366 * 86_400

    private enum Register {
        static let seconds = 0x00, minutes = 0x02, hours = 0x04, weekday = 0x06, day = 0x07, month = 0x08, year = 0x09
        static let statusA = 0x0a, statusB = 0x0b, statusC = 0x0c, statusD = 0x0d, century = 0x32
        static let timeFields = [seconds, minutes, hours, weekday, day, month, year, century]
    }

    /// A fresh CMOS for a guest with `ramBytes` of RAM below 4 GiB and one vCPU.
    init(ramBytes: Int) {
        var bytes = [UInt8](repeating: 0, count: Self.size)
        func store16(_ value: Int, at offset: Int) {
            bytes[offset] = UInt8(truncatingIfNeeded: value)
            bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 8)
        }
        store16(min(ramBytes / 1024, 640), at: 0x15)
        let extendedKiB = min(max(ramBytes - (1 << 20), 0) / 1024, 65535)
        store16(extendedKiB, at: 0x17)
        store16(extendedKiB, at: 0x30)
        store16(min(max(ramBytes - (16 << 20), 0) / 65536, 65535), at: 0x34)
        bytes[0x5f] = 0
        bytes[Register.statusA] = 0x26
        bytes[Register.statusB] = 0x02
        bytes[Register.statusD] = 0x80
        self.bytes = bytes
    }

    /// The state a migration carries: the 128 bytes, the index and the clock's offset (clamped
    /// to what a guest can set; the state's reader refuses one beyond it first).
    init(bytes: [UInt8], index: UInt8, clockOffsetSeconds: Int64) {
        self.bytes = bytes.count == Self.size ? bytes : [UInt8](repeating: 0, count: Self.size)
        self.index = index & 0x7f
        self.clockOffsetSeconds = min(max(clockOffsetSeconds, -Self.maxClockOffsetSeconds), Self.maxClockOffsetSeconds)
    }

    static func isPlausibleClockOffset(_ seconds: Int64) -> Bool { abs(seconds) <= maxClockOffsetSeconds }

    /// The guest's time: the host's plus the offset, never overflowing (a host clock past
    /// 2^62 s is no clock).
    private func guestSeconds(_ hostSeconds: Int64) -> Int64 { Self.bounded(hostSeconds) + clockOffsetSeconds }

    private static func bounded(_ hostSeconds: Int64) -> Int64 { min(max(hostSeconds, -(1 << 62)), 1 << 62) }

    mutating func write(port: UInt16, value: UInt8, hostSeconds: Int64) {
        if port == Self.indexPort {
            index = value & 0x7f
            return
        }
        let register = Int(index)
        switch register {
        case Register.statusC, Register.statusD:
            return  // read-only
        case Register.statusA:
            bytes[register] = value & 0x7f  // UIP is read-only
        case Register.statusB:
            let wasSetting = setting
            if value & 0x80 != 0 && !wasSetting {
                // SET: the clock stops updating; its registers hold the time now, and the guest
                // rewrites them one by one (Linux's mc146818_set_time does).
                for field in Register.timeFields { bytes[field] = clockField(field, at: guestSeconds(hostSeconds)) }
            }
            bytes[register] = value
            if wasSetting && value & 0x80 == 0 { setClock(fromRegistersAt: hostSeconds) }
        case _ where Register.timeFields.contains(register):
            if setting {
                bytes[register] = value
            } else {
                setClockField(register, to: value, hostSeconds: hostSeconds)
            }
        default:
            bytes[register] = value
        }
    }

    /// Status B's SET bit: the guest is setting the clock.
    private var setting: Bool { bytes[Register.statusB] & 0x80 != 0 }

    func read(port: UInt16, hostSeconds: Int64) -> UInt8 {
        guard port == Self.dataPort else { return 0xff }
        let register = Int(index)
        if Register.timeFields.contains(register) {
            // While SET, the registers hold what the guest wrote.
            return setting ? bytes[register] : clockField(register, at: guestSeconds(hostSeconds))
        }
        return register == Register.statusC ? 0 : bytes[register]
    }

    private var binary: Bool { bytes[Register.statusB] & 0x04 != 0 }
    private var twentyFourHour: Bool { bytes[Register.statusB] & 0x02 != 0 }

    private func encode(_ value: Int) -> UInt8 {
        UInt8(truncatingIfNeeded: binary ? value : (value / 10) << 4 | value % 10)
    }

    private func decode(_ value: UInt8) -> Int {
        binary ? Int(value) : Int(value >> 4) * 10 + Int(value & 0x0f)
    }

    private static func fields(at seconds: Int64) -> tm {
        var time = time_t(clamping: seconds)
        var fields = tm()
        gmtime_r(&time, &fields)
        return fields
    }

    private func clockField(_ register: Int, at seconds: Int64) -> UInt8 {
        let time = Self.fields(at: seconds)
        switch register {
        case Register.seconds: return encode(Int(time.tm_sec))
        case Register.minutes: return encode(Int(time.tm_min))
        case Register.hours:
            let hour = Int(time.tm_hour)
            if twentyFourHour { return encode(hour) }
            let twelve = hour % 12 == 0 ? 12 : hour % 12
            return encode(twelve) | (hour >= 12 ? 0x80 : 0)
        case Register.weekday: return encode(Int(time.tm_wday) + 1)
        case Register.day: return encode(Int(time.tm_mday))
        case Register.month: return encode(Int(time.tm_mon) + 1)
        case Register.year: return encode(Int(time.tm_year + 1900) % 100)
        default: return encode(Int(time.tm_year + 1900) / 100)
        }
    }

    /// The guest sets one field of its clock: the others keep their current values, and the
    /// difference from the host's clock becomes the offset. Out-of-range values are clamped to
    /// the field's range (a real chip would count from them; no firmware relies on that).
    private mutating func setClockField(_ register: Int, to value: UInt8, hostSeconds: Int64) {
        var time = Self.fields(at: guestSeconds(hostSeconds))
        apply(register, value, to: &time)
        clockOffsetSeconds = Self.offset(of: &time, hostSeconds: hostSeconds)
    }

    /// SET cleared: the time the registers hold, all fields at once.
    private mutating func setClock(fromRegistersAt hostSeconds: Int64) {
        var time = Self.fields(at: guestSeconds(hostSeconds))
        for field in Register.timeFields where field != Register.weekday { apply(field, bytes[field], to: &time) }
        clockOffsetSeconds = Self.offset(of: &time, hostSeconds: hostSeconds)
    }

    /// The offset that makes the guest's clock read `time` now, within the bounds.
    private static func offset(of time: inout tm, hostSeconds: Int64) -> Int64 {
        let guest = Int64(timegm(&time))
        return min(max(guest - bounded(hostSeconds), -maxClockOffsetSeconds), maxClockOffsetSeconds)
    }

    /// One register's value, decoded, into `time`'s field.
    private func apply(_ register: Int, _ value: UInt8, to time: inout tm) {
        var decoded = decode(value & (register == Register.hours && !twentyFourHour ? 0x7f : 0xff))
        func clamp(_ range: ClosedRange<Int>) -> Int32 { Int32(min(max(decoded, range.lowerBound), range.upperBound)) }
        switch register {
        case Register.seconds: time.tm_sec = clamp(0 ... 59)
        case Register.minutes: time.tm_min = clamp(0 ... 59)
        case Register.hours:
            if !twentyFourHour {
                decoded = decoded % 12 + (value & 0x80 != 0 ? 12 : 0)
            }
            time.tm_hour = clamp(0 ... 23)
        case Register.weekday: return  // follows from the date
        case Register.day: time.tm_mday = clamp(1 ... 31)
        case Register.month: time.tm_mon = clamp(1 ... 12) - 1
        case Register.year: time.tm_year = Int32((Int(time.tm_year + 1900) / 100) * 100 + Int(clamp(0 ... 99)) - 1900)
        default: time.tm_year = Int32(Int(clamp(19 ... 99)) * 100 + Int(time.tm_year + 1900) % 100 - 1900)
        }
    }
}
