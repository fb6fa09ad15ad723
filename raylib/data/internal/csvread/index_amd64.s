//go:build amd64 && !purego

#include "textflag.h"

// func indexAVX2(buf *byte, n int, delim byte, seps *uint32, base uint32) (count, newlines int, ascii bool)
TEXT ·indexAVX2(SB), NOSPLIT, $0-57
	MOVQ    buf+0(FP), SI
	MOVQ    n+8(FP), CX
	MOVBLZX delim+16(FP), AX
	MOVQ    seps+24(FP), DI
	MOVL    base+32(FP), R8
	XORQ    R9, R9              // entries written
	XORQ    R10, R10            // newlines
	MOVQ    AX, X1
	VPBROADCASTB X1, Y1         // delimiter in every lane
	MOVL    $0x0a, AX
	MOVQ    AX, X2
	VPBROADCASTB X2, Y2         // '\n' in every lane
	VPXOR   Y5, Y5, Y5          // OR of all bytes, for the ASCII check
	XORQ    DX, DX              // offset of the block

loop:
	CMPQ    DX, CX
	JAE     done
	VMOVDQU (SI)(DX*1), Y0
	VPOR    Y0, Y5, Y5
	VPCMPEQB Y0, Y1, Y3
	VPCMPEQB Y0, Y2, Y4
	VPMOVMSKB Y4, BX
	POPCNTL BX, BX
	ADDQ    BX, R10
	VPOR    Y3, Y4, Y3
	VPMOVMSKB Y3, AX
	TESTL   AX, AX
	JZ      next
	LEAL    (R8)(DX*1), BX      // base + block offset

bits:
	BSFL    AX, R11
	LEAL    (BX)(R11*1), R12
	SHLL    $2, R12
	MOVL    R12, (DI)(R9*4)
	INCQ    R9
	LEAL    -1(AX), R13
	ANDL    R13, AX
	JNZ     bits

next:
	ADDQ    $32, DX
	JMP     loop

done:
	VPMOVMSKB Y5, AX
	TESTL   AX, AX
	SETEQ   ascii+56(FP)
	VZEROUPPER
	MOVQ    R9, count+40(FP)
	MOVQ    R10, newlines+48(FP)
	RET

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET
