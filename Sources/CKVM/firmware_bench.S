// The benchmark firmware: a 64 KiB flat image that runs the same under QEMU (`-bios`) and as a
// livemig firmware guest, for `livemig bench migrate --peer qemu`. Built like the test firmware
// (firmware_test.S): mapped at the top of the first 4 GiB with its last 64 KiB aliased at
// 0xF0000, so image offset X is F000:X in real mode and linear 0xF0000 + X.
//
// What it does: programs the 16550 at 0x3f8, switches to 32-bit protected mode with flat
// segments (no paging, no interrupts), and then loops on the TSC:
// - a heartbeat "hb N" on the serial port every `ticks per heartbeat` (1 ms in the benchmark),
//   without polling the line status (both VMMs' 16550s take a byte at any time), so that the
//   host can time the gap a migration's pause leaves between two lines;
// - page writes paced at one per `ticks per write`: 4 bytes (the write's sequence number) at
//   the start of a page drawn uniformly from the working set; 0 writes as fast as it can,
//   0xffffffff writes nothing (an idle guest that only prints). A backlog of more than 256
//   writes (after a pause, under a throttle) is dropped, not caught up: a throttled guest
//   writes less, as a CPU-bound one does.
//
// The host patches the parameter block at image offset 0xFF00 before it boots the image
// (KVMBackend's BenchFirmware.image(tscHz:memoryBytes:)): every value a 32-bit word.
//   0 magic "LMBP"   4 ticks per write   8 ticks per heartbeat   12 region base (bytes)
//  16 working-set pages   20 random seed   24 fill end (bytes; pages from 1 MiB up to it are
//  written once at boot, before "bench up")
// State lives in RAM at 0x500 (it migrates with the pages): 0x500 last TSC (low 32 bits),
// 0x504 write credit (ticks), 0x508 heartbeat credit (ticks), 0x50c heartbeats, 0x510 writes,
// 0x514 random state.
//
// The GDT sits in the read-only image with its descriptors' accessed bits set in advance
// (kvm_pvm cannot set them there, /work/shared/lab/KVM-NOTES.md). The random pages come from a
// 32-bit linear congruential generator (multiplier 1664525, increment 1013904223: Numerical
// Recipes' constants), its high bits taken as a fraction of the working set.

#include "firmware_uart.h"

    .section .rodata.livemig_firmware_bench,"a",@progbits
    .globl livemig_firmware_bench_image_start
    .globl livemig_firmware_bench_image_end
    .p2align 12
livemig_firmware_bench_image_start:
    .code16

#define OFF(label) ((label) - livemig_firmware_bench_image_start)
#define LINEAR(label) (0xF0000 + OFF(label))
#define PARAMETERS 0xFF00
#define PARAMETER(offset) (0xF0000 + PARAMETERS + (offset))
#define LAST_TSC 0x500
#define WRITE_CREDIT 0x504
#define BEAT_CREDIT 0x508
#define BEATS 0x50c
#define WRITES 0x510
#define RANDOM 0x514
#define STACK_TOP 0x7000

start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw $STACK_TOP, %sp

    uart_init_115200_8n1

    lgdtl %cs:OFF(gdt_pointer)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $LINEAR(protected)

    .code32
protected:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl $STACK_TOP, %esp
    rdtsc
    movl %eax, LAST_TSC
    movl $0, WRITE_CREDIT
    movl $0, BEAT_CREDIT
    movl $0, BEATS
    movl $0, WRITES
    movl PARAMETER(20), %eax
    orl $1, %eax
    movl %eax, RANDOM
    // Every page from 1 MiB to the fill end gets a word of its own (its address), as a guest
    // that has run a while has little zero memory: both VMMs then send every page.
    movl $0x100000, %edi
    movl PARAMETER(24), %ecx
13: cmpl %ecx, %edi
    jae 14f
    movl %edi, (%edi)
    addl $4096, %edi
    jmp 13b
14: movl $LINEAR(hello), %esi
    call puts

main:
    rdtsc
    movl %eax, %ebx
    subl LAST_TSC, %ebx             // ticks since the last pass (mod 2^32)
    movl %eax, LAST_TSC
    // The heartbeat: due once its credit reaches a period; more than a period behind (a
    // pause), the missed beats are dropped.
    movl BEAT_CREDIT, %eax
    addl %ebx, %eax
    jnc 1f
    movl $0xffffffff, %eax
1:  movl PARAMETER(8), %ecx
    cmpl %ecx, %eax
    jb 3f
    subl %ecx, %eax
    cmpl %ecx, %eax
    jb 2f
    xorl %eax, %eax
2:  movl %eax, BEAT_CREDIT
    pushl %ebx
    call heartbeat
    popl %ebx
    jmp 4f
3:  movl %eax, BEAT_CREDIT
4:  movl PARAMETER(4), %ecx
    cmpl $0xffffffff, %ecx
    je main
    testl %ecx, %ecx
    jz 6f
    movl WRITE_CREDIT, %eax
    addl %ebx, %eax
    jnc 5f
    movl $0xffffffff, %eax
5:  xorl %edx, %edx
    divl %ecx                       // %eax writes owed, %edx ticks left over
    movl %edx, WRITE_CREDIT
    cmpl $256, %eax
    jbe 7f
    movl $256, %eax
7:  movl %eax, %ecx
    testl %ecx, %ecx
    jz main
    call write_pages
    jmp main
6:  movl $256, %ecx
    call write_pages
    jmp main

// %ecx writes, each to a page drawn from the working set.
write_pages:
    movl RANDOM, %esi
    movl WRITES, %edi
    movl PARAMETER(16), %ebp
    movl PARAMETER(12), %ebx
8:  imull $1664525, %esi, %esi
    addl $1013904223, %esi
    movl %esi, %eax
    mull %ebp
    shll $12, %edx
    incl %edi
    movl %edi, (%ebx,%edx)
    decl %ecx
    jnz 8b
    movl %esi, RANDOM
    movl %edi, WRITES
    ret

// Prints "hb N\n", N the heartbeat count.
heartbeat:
    incl BEATS
    movw $0x3f8, %dx
    movb $'h', %al
    outb %al, %dx
    movb $'b', %al
    outb %al, %dx
    movb $' ', %al
    outb %al, %dx
    movl BEATS, %eax
    movl %esp, %edi
    subl $16, %esp
    movl $10, %ecx
    xorl %ebx, %ebx
9:  xorl %edx, %edx
    divl %ecx
    addb $'0', %dl
    decl %edi
    movb %dl, (%edi)
    incl %ebx
    testl %eax, %eax
    jnz 9b
    movw $0x3f8, %dx
10: movb (%edi), %al
    outb %al, %dx
    incl %edi
    decl %ebx
    jnz 10b
    movb $'\n', %al
    outb %al, %dx
    addl $16, %esp
    ret

// Prints the NUL-terminated string at %esi.
puts:
    movw $0x3f8, %dx
11: movb (%esi), %al
    incl %esi
    testb %al, %al
    jz 12f
    outb %al, %dx
    jmp 11b
12: ret

hello:
    .asciz "bench up\n"

    .p2align 3
gdt:
    .quad 0
    .quad 0x00cf9b000000ffff        // 0x08: code, base 0, 4 GiB, 32-bit, accessed
    .quad 0x00cf93000000ffff        // 0x10: data, base 0, 4 GiB, accessed
gdt_pointer:
    .word gdt_pointer - gdt - 1
    .long LINEAR(gdt)

    .org PARAMETERS
parameters:
    .ascii "LMBP"
    .long 0xffffffff                // ticks per write: none until patched
    .long 2500000                   // ticks per heartbeat
    .long 0x1000000                 // region base: 16 MiB
    .long 1                         // working-set pages
    .long 1                         // seed
    .long 0                         // fill end: none

    // The reset vector: CS base 0xFFFF0000, IP 0xFFF0.
    .org 0xfff0
    .code16
    ljmpw $0xf000, $OFF(start)
    .org 0x10000
livemig_firmware_bench_image_end:

    .code64
    .section .note.GNU-stack,"",@progbits
