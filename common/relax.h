/* SPDX-License-Identifier: GPL-2.0-or-later */
/* relax.h - the pause of a spin-wait loop (lets the sibling hyperthread run) */
#ifndef UACCE_RELAX_H
#define UACCE_RELAX_H

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

#endif
