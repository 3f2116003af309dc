import CKVM
import Foundation

/// The thread that runs one vCPU: KVM_RUN in a loop, serving port I/O (the 16550 serial port at
/// 0x3f8-0x3ff whose output is the console, a firmware guest's CMOS/RTC at 0x70-0x71, the
/// guest's "nothing to do, sleep a moment" port 0x511), and stopping at a safe point when asked to pause: `pause()` returns only once the
/// vCPU is out of KVM_RUN and parked. For a firmware guest (in-kernel irqchip) HLT never exits
/// here: the kernel sleeps the vCPU until an interrupt; and an MMIO exit (a write to the
/// read-only image, an access where nothing is mapped) reads all ones and drops writes, as a
/// PC's bus does, instead of stopping the guest.
final class VcpuRunner: @unchecked Sendable {
    enum State: Equatable { case notStarted, running, paused, stopped(String?) }

    static let serialPort: UInt16 = 0x3f8
    static let yieldPort: UInt16 = 0x511
    /// How long the VMM sleeps on a HLT without an in-kernel irqchip, or when the guest asks for
    /// a sleep of 0 on the yield port.
    static let yieldMicroseconds: useconds_t = 500
    /// The longest sleep the guest may ask for on the yield port.
    static let maxYieldMicroseconds: UInt32 = 100_000
    /// QEMU's throttle slice (`CPU_THROTTLE_TIMESLICE_NS`, 10 ms): a throttled vCPU runs this
    /// long and then sleeps its share.
    static let throttleSliceSeconds = 0.010

    private let vcpuFD: Int32
    private let run: UnsafeMutableRawPointer
    private let console: ConsoleLog
    private let firmware: Bool
    /// Guards the device models (serial port, CMOS), which a capture reads while paused.
    private let serialLock = NSLock()
    private var serial = Serial16550()
    /// A firmware guest's CMOS/RTC (nil for the built-in guest program, which has no PC devices).
    private var cmos: CmosRtc?
    private let condition = NSCondition()
    private var pauseRequested = false
    private var stopRequested = false
    private(set) var state: State = .notStarted
    private var threadID: UInt = 0
    private var throttlePercent = 0
    private var throttleTimer: Thread?
    /// The vCPU sleeps its throttled share: the throttle timer must not kick it then (the kick
    /// would end the next KVM_RUN at once and double the sleep).
    private var throttleSleeping = false
    /// Set by the throttle timer once a period: the loop sleeps the throttled share before its
    /// next KVM_RUN, wherever the vCPU was when the timer fired (in KVM_RUN, serving I/O, in a
    /// yield-port sleep), so that no period goes unthrottled (QEMU queues the sleep as vCPU work
    /// for the same reason).
    private var throttleDue = false

    init(vcpuFD: Int32, run: UnsafeMutableRawPointer, console: ConsoleLog, firmwareRAMBytes: Int? = nil) {
        self.vcpuFD = vcpuFD
        self.run = run
        self.console = console
        self.firmware = firmwareRAMBytes != nil
        self.cmos = firmwareRAMBytes.map { CmosRtc(ramBytes: $0) }
        livemig_kvm_install_kick_handler()
    }

    /// Starts the vCPU thread; with `paused` it parks before its first KVM_RUN.
    func start(paused: Bool) {
        condition.lock()
        pauseRequested = paused
        condition.unlock()
        let thread = Thread { [self] in loop() }
        thread.name = "vcpu0"
        thread.stackSize = 1 << 20
        thread.start()
        condition.lock()
        while state == .notStarted { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        condition.lock()
        threadID = livemig_kvm_current_thread()
        state = .running
        condition.broadcast()
        condition.unlock()
        var exit = livemig_kvm_exit()
        var failure: String?
        while true {
            condition.lock()
            livemig_kvm_clear_kick(run)
            while pauseRequested && !stopRequested {
                if state != .paused { state = .paused; condition.broadcast() }
                condition.wait()
            }
            if stopRequested { condition.unlock(); break }
            state = .running
            let throttle = throttlePercent
            let sleepDue = throttleDue && throttle > 0
            throttleDue = false
            condition.unlock()
            if sleepDue {
                sleepThrottledShare(percent: throttle)
                continue  // a pause or stop asked for meanwhile is seen first
            }
            let status = livemig_kvm_run(vcpuFD, run, &exit, 0)
            if status < 0 {
                failure = "KVM_RUN: \(String(cString: strerror(-status)))"
                break
            }
            switch exit.reason {
            case UInt32(LIVEMIG_KVM_EXIT_INTERRUPTED):
                break  // a kick: the loop's top sees a pause, a stop or a throttle sleep due
            case UInt32(LIVEMIG_KVM_EXIT_IO):
                if Serial16550.ports.contains(exit.port) {
                    serialLock.lock()
                    if exit.direction == 1 {
                        let printed = serial.write(port: exit.port, value: UInt8(truncatingIfNeeded: exit.value))
                        serialLock.unlock()
                        if let printed { console.append(printed) }
                    } else {
                        let value = serial.read(port: exit.port)
                        serialLock.unlock()
                        livemig_kvm_set_io_in_value(run, UInt32(value))
                    }
                } else if firmware && CmosRtc.ports.contains(exit.port) {
                    serveCmos(exit)
                } else if exit.direction == 1 && exit.port == Self.yieldPort {
                    // The guest is ahead of its schedule and says for how long (µs, 32-bit out).
                    let asked = exit.size == 4 ? min(exit.value, Self.maxYieldMicroseconds) : 0
                    sleepUnlessPaused(microseconds: asked == 0 ? Self.yieldMicroseconds : asked)
                }
            case UInt32(LIVEMIG_KVM_EXIT_MMIO) where firmware:
                livemig_kvm_complete_mmio(run)
            case UInt32(LIVEMIG_KVM_EXIT_HLT):
                usleep(Self.yieldMicroseconds)
            default:
                failure = "the guest stopped: KVM exit \(exit.reason) (detail \(exit.detail))"
            }
            if failure != nil { break }
        }
        condition.lock()
        state = .stopped(failure)
        condition.broadcast()
        condition.unlock()
    }

    /// A firmware guest's access to the CMOS/RTC ports (byte-wide; a wider read gets ones above).
    private func serveCmos(_ exit: livemig_kvm_exit) {
        let now = Int64(Date().timeIntervalSince1970.rounded(.down))
        serialLock.lock()
        defer { serialLock.unlock() }
        if exit.direction == 1 {
            cmos?.write(port: exit.port, value: UInt8(truncatingIfNeeded: exit.value), hostSeconds: now)
        } else {
            let value = cmos?.read(port: exit.port, hostSeconds: now) ?? 0xff
            livemig_kvm_set_io_in_value(run, UInt32(value) | (exit.size > 1 ? 0xffff_ff00 : 0))
        }
    }

    /// Sleeps the vCPU thread, but wakes at once when a pause or stop is requested, so that a
    /// guest idling between heartbeats does not delay a migration's pause. A condition wait, not
    /// `usleep`: a kick's signal does not cut it short.
    private func sleepUnlessPaused(microseconds: UInt32) {
        let deadline = Date().addingTimeInterval(Double(microseconds) / 1e6)
        condition.lock()
        while !pauseRequested && !stopRequested && Date() < deadline {
            _ = condition.wait(until: deadline)
        }
        condition.unlock()
    }

    /// The throttled share of one period, QEMU's `cpu_throttle_thread`: a vCPU throttled to
    /// `percent` sleeps slice x percent / (100 - percent) after each slice it ran, so that it
    /// runs (100 - percent) % of the time (`softmmu/cpu-throttle.c`, `CPU_THROTTLE_TIMESLICE_NS`).
    private func sleepThrottledShare(percent: Int) {
        let sleepSeconds = Self.throttleSliceSeconds * Double(percent) / Double(100 - percent)
        condition.lock()
        throttleSleeping = true
        condition.unlock()
        sleepUnlessPaused(microseconds: UInt32(min(sleepSeconds * 1e6, Double(Self.maxYieldMicroseconds) * 10)))
        condition.lock()
        throttleSleeping = false
        condition.unlock()
    }

    /// Stops the vCPU at the next exit and waits until it is parked out of KVM_RUN.
    func pause() {
        condition.lock()
        defer { condition.unlock() }
        guard case .running = state else { return }
        pauseRequested = true
        // The kick ends KVM_RUN; the broadcast ends a yield-port sleep (the signal alone would not).
        livemig_kvm_kick(run, threadID)
        condition.broadcast()
        while state == .running { condition.wait() }
    }

    /// `pause()` with a bound: a vCPU blocked in a missing-page fault (post-copy) leaves
    /// KVM_RUN only if the kick interrupts the fault, so the wait gives up after `seconds`
    /// (the pause stays requested: the vCPU stops as soon as it gets back). True once it stopped.
    func pause(waitingUpToSeconds seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard case .running = state else { return true }
        pauseRequested = true
        livemig_kvm_kick(run, threadID)
        condition.broadcast()
        let deadline = Date(timeIntervalSinceNow: max(seconds, 0))
        while state == .running {
            if !condition.wait(until: deadline) { return state != .running }
        }
        return true
    }

    func resume() {
        condition.lock()
        pauseRequested = false
        condition.broadcast()
        condition.unlock()
    }

    /// Ends the thread for good and waits for it.
    func stop() {
        condition.lock()
        defer { condition.unlock() }
        stopRequested = true
        if case .running = state { livemig_kvm_kick(run, threadID) }
        condition.broadcast()
        while true {
            if case .stopped = state { break }
            if state == .notStarted { state = .stopped(nil); break }
            condition.wait()
        }
        throttleTimer?.cancel()
    }

    /// The serial port's registers, for a firmware guest's state blob (read while paused).
    var serialRegisters: [UInt8] {
        get {
            serialLock.lock()
            defer { serialLock.unlock() }
            return serial.registers
        }
        set {
            serialLock.lock()
            serial = Serial16550(registers: newValue)
            serialLock.unlock()
        }
    }

    /// The CMOS/RTC state, for a firmware guest's state blob (read and set while paused).
    var cmosState: CmosRtc? {
        get {
            serialLock.lock()
            defer { serialLock.unlock() }
            return cmos
        }
        set {
            serialLock.lock()
            cmos = newValue
            serialLock.unlock()
        }
    }

    var currentState: State {
        condition.lock()
        defer { condition.unlock() }
        return state
    }

    /// Throttles the vCPU to (100 - percent) % of the time, QEMU style: a timer whose period is
    /// slice / (1 - percent / 100) marks a sleep due and kicks the vCPU out of KVM_RUN once a
    /// period, and the loop then sleeps the throttled share; the vCPU runs one slice of each
    /// period.
    func setThrottle(percent: Int) {
        condition.lock()
        throttlePercent = min(max(percent, 0), 99)
        let needTimer = throttlePercent > 0 && throttleTimer == nil
        condition.unlock()
        guard needTimer else { return }
        let timer = Thread { [self] in
            var percent = 0
            while !Thread.current.isCancelled {
                let periodSeconds = Self.throttleSliceSeconds * (percent > 0 ? 100 / Double(100 - percent) : 1)
                usleep(useconds_t(periodSeconds * 1e6))
                condition.lock()
                percent = throttlePercent
                let active = percent > 0 && state == .running && !pauseRequested && !throttleSleeping
                if active {
                    throttleDue = true
                    livemig_kvm_kick(run, threadID)
                }
                condition.unlock()
            }
        }
        throttleTimer = timer
        timer.start()
    }
}
