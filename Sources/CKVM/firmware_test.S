// The test firmware: a 64 KiB flat image for a firmware guest (KVMGuest.createFirmware), built
// the way `qemu -bios` images are: the VMM maps it at the top of the first 4 GiB (so its last 16
// bytes hold the reset vector at 0xFFFFFFF0) and its last 64 KiB again at 0xF0000, so image
// offset X is real-mode address F000:X.
//
// What it does, in real mode and with no BIOS underneath: sets up a stack, programs the 16550
// at 0x3f8 (8N1, divisor 1; the VMM must swallow the divisor write made with DLAB set), the
// master and slave 8259 PICs (ICW1-4: vectors 0x20 and 0x28, only IRQ0 unmasked) and PIT
// channel 0 (mode 2, divisor 11932: 100 Hz); installs an IRQ0 handler at IVT entry 0x20, prints
// "firmware up" and "cmos N" (the RAM above 16 MiB in 64 KiB units, from CMOS bytes 0x34/0x35),
// and then sleeps in HLT. The IRQ0 handler counts ticks in the 32-bit word at
// 0x500; after every 10 ticks the main loop prints "tick N" (N = 10, 20, ...; the next N to
// print is kept at 0x504) on the serial port, polling the line status register (0x3fd) until
// the transmitter is empty. All state lives in guest RAM, so it migrates with the pages.
//
// No IRET anywhere: kvm_pvm cannot emulate it (/work/shared/lab/KVM-NOTES.md). The handler
// returns by rotating the frame the interrupt pushed (IP, CS, FLAGS) into (FLAGS, IP, CS) and
// then doing POPF + far RET. POPF restores every flag, IF=1 among them; it has no interrupt
// shadow, so the next tick may arrive between the POPF and the RETF: it then nests on top of
// the remaining (IP, CS) and returns to the RETF, which is harmless (the EOI was sent already,
// and a tick comes only every 10 ms).

#include "firmware_uart.h"

    .section .rodata.livemig_firmware_test,"a",@progbits
    .globl livemig_firmware_test_image_start
    .globl livemig_firmware_test_image_end
    .p2align 12
livemig_firmware_test_image_start:
    .code16

#define OFF(label) ((label) - livemig_firmware_test_image_start)
#define TICKS 0x500
#define NEXT_PRINT 0x504
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

    // 8259 PICs: ICW1 (edge, cascade, ICW4), ICW2 (vector base), ICW3 (slave on IRQ2), ICW4
    // (8086 mode); then mask everything but IRQ0.
    movb $0x11, %al
    outb %al, $0x20
    outb %al, $0xa0
    movb $0x20, %al
    outb %al, $0x21
    movb $0x28, %al
    outb %al, $0xa1
    movb $0x04, %al
    outb %al, $0x21
    movb $0x02, %al
    outb %al, $0xa1
    movb $0x01, %al
    outb %al, $0x21
    outb %al, $0xa1
    movb $0xfe, %al
    outb %al, $0x21
    movb $0xff, %al
    outb %al, $0xa1

    // PIT channel 0: lobyte/hibyte, mode 2 (rate generator), 1193182 Hz / 11932 = 100 Hz.
    movb $0x34, %al
    outb %al, $0x43
    movw $11932, %ax
    outb %al, $0x40
    movb %ah, %al
    outb %al, $0x40

    // IVT entry 0x20 (IRQ0 after the remap) -> F000:irq0.
    movw $OFF(irq0), 0x20 * 4
    movw $0xf000, 0x20 * 4 + 2
    movl $0, TICKS
    movl $10, NEXT_PRINT

    movw $OFF(hello), %si
    call puts

    // The RAM above 16 MiB as the CMOS gives it (0x34/0x35, 64 KiB units), as PC firmware
    // reads it: "cmos N".
    movw $OFF(cmos), %si
    call puts
    movb $0x35, %al
    outb %al, $0x70
    inb $0x71, %al
    movb %al, %ah
    movb $0x34, %al
    outb %al, $0x70
    inb $0x71, %al
    movzwl %ax, %eax
    call putdec
    movb $'\n', %al
    call putc

main:
    cli
    movl TICKS, %eax
    cmpl NEXT_PRINT, %eax
    jae print
    sti                     // STI's interrupt shadow covers the HLT: no tick slips in between
    hlt
    jmp main
print:
    sti
    movw $OFF(tick), %si
    call puts
    movl NEXT_PRINT, %eax
    addl $10, NEXT_PRINT
    call putdec
    movb $'\n', %al
    call putc
    jmp main

// Prints the NUL-terminated string at %cs:%si.
puts:
    movb %cs:(%si), %al
    incw %si
    testb %al, %al
    jz 1f
    call putc
    jmp puts
1:  ret

// Prints %al once the transmitter holding register is empty (LSR bit 5).
putc:
    pushw %dx
    pushw %ax
    movw $0x3fd, %dx
2:  inb %dx, %al
    testb $0x20, %al
    jz 2b
    popw %ax
    movw $0x3f8, %dx
    outb %al, %dx
    popw %dx
    ret

// Prints %eax in decimal.
putdec:
    movl $10, %ecx
    xorw %bx, %bx
3:  xorl %edx, %edx
    divl %ecx
    pushw %dx
    incw %bx
    testl %eax, %eax
    jnz 3b
4:  popw %ax
    addb $'0', %al
    call putc
    decw %bx
    jnz 4b
    ret

// IRQ0: count the tick, EOI, return without IRET (see the top of the file).
irq0:
    pushw %ax
    pushw %ds
    xorw %ax, %ax
    movw %ax, %ds
    incl TICKS
    movb $0x20, %al
    outb %al, $0x20
    popw %ds
    popw %ax
    pushw %bp
    movw %sp, %bp           // 0(%bp) bp, 2 IP, 4 CS, 6 FLAGS (SS-relative)
    pushw %ax
    movw 6(%bp), %ax        // FLAGS
    xchgw %ax, 2(%bp)       // 2 = FLAGS, ax = IP
    xchgw %ax, 4(%bp)       // 4 = IP, ax = CS
    movw %ax, 6(%bp)        // 6 = CS
    popw %ax
    popw %bp
    popfw
    lretw

hello:
    .asciz "firmware up\n"
tick:
    .asciz "tick "
cmos:
    .asciz "cmos "

    // The reset vector: CS base 0xFFFF0000, IP 0xFFF0.
    .org 0xfff0
    ljmpw $0xf000, $OFF(start)
    .org 0x10000
livemig_firmware_test_image_end:

    .code64
    .section .note.GNU-stack,"",@progbits
