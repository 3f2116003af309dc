// The built-in guest program: a 64-bit, position-independent loop that dirties guest memory at a
// paced rate in the simulator's vocabulary (idle, uniform, hotCold, sequential), stamps every
// page it writes with (write sequence, its own address), and prints a heartbeat line on the serial
// port every 100 ms. The VMM copies the bytes between the two labels into guest memory, puts
// the vCPU in long mode and starts it with %rdi = the parameter block (see KVMGuestProgram.swift
// for the layout). Pacing uses the TSC, whose frequency the VMM writes into the block (the
// guest's own calibration was off by up to 2 % under load here, KVM-NOTES.md); when the guest is
// ahead of its schedule it writes the microseconds it can sleep to port 0x511 (32-bit) and the
// VMM sleeps that long (no busy waiting, few exits).
//
// Parameter block offsets (bytes):
//   0 kind (0 idle, 1 uniform, 2 hotCold, 3 sequential)   8 region base (guest-physical)
//  16 working-set pages W   24 hot pages H   32 rate A (writes/s)   40 rate B (writes/s)
//  48 TSC Hz   56 TSC ticks per heartbeat   64 write sequence   72 heartbeat count
//  80 next heartbeat TSC   88 random state   96 sweep position   104 start TSC
// 112 writes done A   120 writes done B
// Stream A writes pages [0, W) (uniform), [0, H) (hotCold) or sweeps [0, W) (sequential);
// stream B writes [H, W) (hotCold only).

    .text
    .globl livemig_guest_program_start
    .globl livemig_guest_program_end
    .p2align 4
livemig_guest_program_start:
    mov %rdi, %r15
    rdtsc
    shl $32, %rdx
    or %rdx, %rax
    cmpq $0, 104(%r15)
    jne .Lmain
    mov %rax, 104(%r15)
    mov %rax, 80(%r15)
.Lmain:
    rdtsc
    shl $32, %rdx
    or %rdx, %rax
    mov %rax, %r14
    cmp 80(%r15), %r14
    jb .Lpace
    call .Lheartbeat
.Lpace:
    xor %r13, %r13
    lea 32(%r15), %rsi
    call .LwritesOwed
    jrcxz .LstreamB
    call .LstreamAWrites
.LstreamB:
    lea 40(%r15), %rsi
    call .LwritesOwed
    jrcxz .Lrest
    mov 24(%r15), %r12
    mov 16(%r15), %r11
    sub %r12, %r11
    call .LwriteRandom
.Lrest:
    test %r13, %r13
    jnz .Lmain
    // Ahead of schedule: ask the VMM to sleep until the next heartbeat, or for as long as 256
    // writes take at the configured rates, whichever is sooner (at most 100 ms), in µs.
    mov 80(%r15), %rax
    sub %r14, %rax
    jbe .LyieldNow
    mov $1000000, %rcx
    mul %rcx
    divq 48(%r15)
    mov %rax, %rbx
    mov 32(%r15), %rcx
    add 40(%r15), %rcx
    test %rcx, %rcx
    jz 7f
    mov $256000000, %rax
    xor %edx, %edx
    div %rcx
    cmp %rbx, %rax
    jae 7f
    mov %rax, %rbx
7:  cmp $100000, %rbx
    jbe 8f
    mov $100000, %rbx
8:  mov %ebx, %eax
    mov $0x511, %dx
    out %eax, %dx
    jmp .Lmain
.LyieldNow:
    xor %eax, %eax
    mov $0x511, %dx
    out %eax, %dx
    jmp .Lmain

// Into %rcx: the writes owed now by the stream whose rate sits at (%rsi) and whose count of
// writes done sits 80 bytes further (rate A at 32 / done at 112, rate B at 40 / done at 120):
// rate x elapsed TSC ticks / TSC Hz, less those done, at most 2048 (about 15 ms: heartbeats stay on
// time). They are counted as done here, and in %r13.
.LwritesOwed:
    xor %ecx, %ecx
    mov (%rsi), %rbx
    test %rbx, %rbx
    jz 12f
    mov %r14, %rax
    sub 104(%r15), %rax
    mul %rbx
    divq 48(%r15)
    sub 80(%rsi), %rax
    jbe 12f
    mov %rax, %rcx
    cmp $2048, %rcx
    jbe 11f
    mov $2048, %rcx
11: add %rcx, 80(%rsi)
    add %rcx, %r13
12: ret

// The write loops are tight on purpose: kvm_pvm here emulates much of this guest's work (about
// 1.2 million instructions a second were counted with perf's kvm:kvm_emulate_insn, and every
// store costs more than other instructions), so each instruction and each store per page write
// costs real time: one store per page, the random loop unrolled four times. A page's stamp is
// one 8-byte word at its start: the write's sequence number (its low 32 bits) x 2^32 + the
// page's own guest-physical address (guest memory ends below 4 GiB). The destination's copy is
// checked against the source's memory, stamps and all.

// Stream A: %rcx writes by the workload's kind.
.LstreamAWrites:
    mov 0(%r15), %rax
    cmp $3, %rax
    je .LwriteSweep
    xor %r12, %r12
    mov 16(%r15), %r11
    cmp $2, %rax
    jne .LwriteRandom
    mov 24(%r15), %r11
    jmp .LwriteRandom

// Writes to pages drawn from the stream's %r11 pages at %r8. The state %r10 steps a
// multiplicative congruential generator (multiplier 0xd1342543de82ef95 in %rbx, from Steele and
// Vigna, "Computationally easy, spectrally good multipliers for congruential pseudorandom number
// generators", 2022; the state stays odd). Read as a fraction of 2^64, the state gives two pages,
// as two base-W digits: the high half of state x W is the first, and the high half of (the low
// half) x W the second (W < 2^20, so the 24 bits left keep them uniform). The stamp is %r9
// (sequence x 2^32 + %r8, stepped by %rsi = 2^32) + the page's offset.
.macro stamp_random_page
    shl $12, %rdx
    add %rsi, %r9
    lea (%r9,%rdx), %rdi
    mov %rdi, (%r8,%rdx)
.endm
.macro random_single
    imul %rbx, %r10
    mov %r10, %rax
    mul %r11
    stamp_random_page
.endm
.macro random_pair
    random_single
    mul %r11
    stamp_random_page
.endm

// %rcx writes to pages drawn uniformly from [%r12, %r12 + %r11); the write counter at 64 is
// kept exact.
.LwriteRandom:
    mov 8(%r15), %r8
    mov %r12, %rax
    shl $12, %rax
    add %rax, %r8
    mov 64(%r15), %r9
    add %rcx, 64(%r15)
    shl $32, %r9
    add %r8, %r9
    mov 88(%r15), %r10
    movabs $0xd1342543de82ef95, %rbx
    mov $1, %esi
    shl $32, %rsi
    test $1, %cl
    jz 1f
    random_single
1:  test $2, %cl
    jz 2f
    random_pair
2:  shr $2, %rcx
    jz 4f
3:  random_pair
    random_pair
    dec %rcx
    jnz 3b
4:  mov %r10, 88(%r15)
    ret

// %rcx writes sweeping [0, W) from the saved position, wrapping around; the position is walked
// as an address (%rax) up to the end of the working set (%r11), the stamp's sequence part kept
// in %r9.
.LwriteSweep:
    mov 8(%r15), %r8
    mov 64(%r15), %r9
    add %rcx, 64(%r15)
    shl $32, %r9
    mov $1, %esi
    shl $32, %rsi
    mov 96(%r15), %rax
    shl $12, %rax
    add %r8, %rax
    mov 16(%r15), %r11
    shl $12, %r11
    add %r8, %r11
9:  add %rsi, %r9
    lea (%r9,%rax), %rdx
    mov %rdx, (%rax)
    add $4096, %rax
    cmp %r11, %rax
    jb 10f
    mov %r8, %rax
10: dec %rcx
    jnz 9b
    sub %r8, %rax
    shr $12, %rax
    mov %rax, 96(%r15)
    ret

// Prints "hb <count>\n" on the serial port and schedules the next heartbeat.
.Lheartbeat:
    incq 72(%r15)
    mov 56(%r15), %rax
    add %rax, 80(%r15)
    cmp 80(%r15), %r14
    jb 4f
    mov %r14, %rdx
    add %rax, %rdx
    mov %rdx, 80(%r15)
4:  mov $0x3f8, %dx
    mov $'h', %al
    out %al, %dx
    mov $'b', %al
    out %al, %dx
    mov $' ', %al
    out %al, %dx
    mov 72(%r15), %rax
    sub $32, %rsp
    lea 31(%rsp), %rdi
    mov $10, %rcx
    xor %r8, %r8
5:  xor %edx, %edx
    div %rcx
    add $'0', %dl
    mov %dl, (%rdi)
    dec %rdi
    inc %r8
    test %rax, %rax
    jnz 5b
    mov $0x3f8, %dx
6:  inc %rdi
    mov (%rdi), %al
    out %al, %dx
    dec %r8
    jnz 6b
    mov $'\n', %al
    out %al, %dx
    add $32, %rsp
    ret
livemig_guest_program_end:

    .section .note.GNU-stack,"",@progbits
