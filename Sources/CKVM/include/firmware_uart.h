// Shared by the flat firmware images (firmware_test.S, firmware_bench.S); nothing for C.
#ifdef __ASSEMBLER__
// Programs the 16550 at 0x3f8 in real mode: DLAB on, divisor 1 (115200 baud), then DLAB off
// with 8N1 and no interrupts (the VMM must swallow the divisor write made with DLAB set).
.macro uart_init_115200_8n1
    movw $0x3fb, %dx
    movb $0x80, %al
    outb %al, %dx
    movw $0x3f8, %dx
    movb $0x01, %al
    outb %al, %dx
    movw $0x3f9, %dx
    xorb %al, %al
    outb %al, %dx
    movw $0x3fb, %dx
    movb $0x03, %al
    outb %al, %dx
    movw $0x3f9, %dx
    xorb %al, %al
    outb %al, %dx
.endm
#endif
