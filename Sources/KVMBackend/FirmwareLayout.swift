import CKVM

/// Where a firmware guest's image and RAM sit (see docs/firmware-guests.md).
///
/// Guest memory (`GuestMemory`, `memoryBytes`, the page range a migration sends) holds RAM
/// first and the image in its top `imageBytes`. KVM sees four slots:
///
/// | slot | guest-physical                       | guest memory offset     | kind                |
/// |------|--------------------------------------|-------------------------|---------------------|
/// | 0    | 0 ..< 1 MiB - alias                  | same                    | RAM, dirty-logged   |
/// | 1    | 1 MiB ..< memoryBytes - imageBytes   | same                    | RAM, dirty-logged   |
/// | 2    | 4 GiB - imageBytes ..< 4 GiB         | memoryBytes - imageBytes| image, read-only    |
/// | 3    | 1 MiB - alias ..< 1 MiB              | memoryBytes - alias     | image alias, r/o    |
///
/// where alias = min(imageBytes, 64 KiB): the image's last 64 KiB also appear at 0xF0000, as
/// QEMU's isa-bios alias does. Slots 2 and 3 map the same host pages. The guest-memory pages
/// under the alias (1 MiB - alias ..< 1 MiB) are mapped nowhere: the guest cannot reach them,
/// so they stay zero. Because the image lives in guest memory, it migrates with the pages and
/// the destination maps it again from its own copy; the state blob carries only this layout.
public struct FirmwareLayout: Sendable, Equatable {
    /// Largest image: 1 MiB.
    public static let maxImageBytes = 1 << 20
    /// The part of the image also mapped below 1 MiB.
    public static let maxAliasBytes = 64 << 10
    /// Largest firmware guest: its RAM must stay below the IOAPIC, LAPIC, TSS and identity map
    /// near 4 GiB (and it leaves room for an MMIO hole, as a PC's does).
    public static let maxMemoryBytes = 3 << 30
    /// Where the real-mode-visible alias ends.
    public static let aliasEnd = 1 << 20
    /// The top of the 32-bit address space, where the image ends.
    public static let imageEnd: UInt64 = 1 << 32

    public let memoryBytes: Int
    public let imageBytes: Int

    public var aliasBytes: Int { min(imageBytes, Self.maxAliasBytes) }
    /// Where the image starts in guest memory; RAM the guest can use ends here.
    public var imageOffset: Int { memoryBytes - imageBytes }
    /// Guest-physical address of the image.
    public var imageAddress: UInt64 { Self.imageEnd - UInt64(imageBytes) }

    public init(memoryBytes: Int, imageBytes: Int) throws(KVMError) {
        guard imageBytes > 0, imageBytes <= Self.maxImageBytes, imageBytes % GuestMemory.pageSizeBytes == 0 else {
            throw KVMError("a firmware image must be a multiple of 4 KiB from 4 KiB to 1 MiB (got \(imageBytes) bytes)")
        }
        guard memoryBytes <= Self.maxMemoryBytes else {
            throw KVMError("a firmware guest has at most 3 GiB of memory (got \(memoryBytes) bytes)")
        }
        guard memoryBytes - imageBytes > Self.aliasEnd else {
            throw KVMError("a firmware guest's memory (\(memoryBytes) bytes) must hold the image (\(imageBytes) bytes) and more than 1 MiB of RAM")
        }
        self.memoryBytes = memoryBytes
        self.imageBytes = imageBytes
    }

    /// The KVM memory slots, as in the table above. Without read-only slots on this host the
    /// image slots are ordinary RAM the guest could write, so they are dirty-logged as well.
    func slots(readOnlyImage: Bool) -> [MemorySlot] {
        let alias = aliasBytes
        let romKind: MemorySlot.Kind = readOnlyImage ? .readOnly : .ram
        return [
            MemorySlot(id: 0, guestPhysical: 0, memoryOffset: 0, bytes: Self.aliasEnd - alias, kind: .ram),
            MemorySlot(id: 1, guestPhysical: UInt64(Self.aliasEnd), memoryOffset: Self.aliasEnd,
                       bytes: imageOffset - Self.aliasEnd, kind: .ram),
            MemorySlot(id: 2, guestPhysical: imageAddress, memoryOffset: imageOffset, bytes: imageBytes, kind: romKind),
            MemorySlot(id: 3, guestPhysical: UInt64(Self.aliasEnd - alias), memoryOffset: memoryBytes - alias,
                       bytes: alias, kind: romKind),
        ]
    }
}

/// One KVM memory slot over part of guest memory.
struct MemorySlot: Equatable {
    enum Kind: Equatable {
        /// Writable and dirty-logged while the guest migrates.
        case ram
        /// KVM_MEM_READONLY: never dirty.
        case readOnly
    }

    var id: UInt32
    var guestPhysical: UInt64
    /// Offset of the slot's first byte in `GuestMemory` (a page boundary).
    var memoryOffset: Int
    var bytes: Int
    var kind: Kind

    var pageCount: Int { bytes / GuestMemory.pageSizeBytes }
    var firstMemoryPage: Int { memoryOffset / GuestMemory.pageSizeBytes }

    /// The LIVEMIG_KVM_MEM_* flags of this slot with dirty logging on or off.
    func flags(dirtyLogging: Bool) -> UInt32 {
        switch kind {
        case .ram: dirtyLogging ? UInt32(LIVEMIG_KVM_MEM_LOG_DIRTY) : 0
        case .readOnly: UInt32(LIVEMIG_KVM_MEM_READONLY)
        }
    }
}

extension FirmwareLayout {
    /// How a firmware guest describes itself (`livemig list`, the stream's layout): `firmware,image=N`.
    static func description(imageBytes: Int) -> String { "firmware,image=\(imageBytes)" }

    /// The image size a description names, if it is a firmware guest's.
    static func imageBytes(describedBy text: String) -> Int? {
        let prefix = "firmware,image="
        guard text.hasPrefix(prefix), let bytes = Int(text.dropFirst(prefix.count)), bytes > 0, bytes <= Self.maxImageBytes else { return nil }
        return bytes
    }
}
