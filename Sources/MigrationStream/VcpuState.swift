/// The saved registers of one vCPU, opaque to the stream: the hypervisor backend on each side
/// produces and consumes the blob (Xen's `vcpu_guest_context`, KVM's `kvm_regs`/`kvm_sregs`...).
public struct VcpuState: Sendable, Equatable {
    /// Which vCPU, below the guest layout's vcpuCount.
    public var vcpuId: UInt32
    /// At most `StreamLimits.maxVcpuStateBytes` bytes.
    public var blob: [UInt8]

    public init(vcpuId: UInt32, blob: [UInt8]) {
        self.vcpuId = vcpuId
        self.blob = blob
    }
}
