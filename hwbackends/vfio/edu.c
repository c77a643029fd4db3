/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * edu.c - QEMU's "edu" teaching PCI device (1234:11e8) as a dummy_v1
 * memcpy accelerator.
 *
 * edu has a DMA engine and a 4 KiB buffer, but no queues: a daemon worker
 * per queue (hwbackends/soft, the dummy ring protocol) takes each request
 * from the ring, and the device moves every byte of it: for each piece,
 * a DMA from the queue's SS region into edu's buffer and one from the
 * buffer to the target, both through the IOMMU (the SS region is mapped at
 * an IOVA inside edu's 28-bit DMA window while the queue runs).  The
 * device signals each completed transfer with its MSI (an eventfd), or is
 * polled when MSI is not available.  One transfer at a time per device.
 *
 * Registers (BAR0): see QEMU docs/specs/edu.rst.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "iova.h"
#include "log.h"
#include "soft.h"
#include "vfio.h"

#define EDU_ID			0x00	/* 0xRRrr00ed */
#define EDU_LIVENESS		0x04	/* reads back the inverse */
#define EDU_IRQ_STATUS		0x24
#define EDU_IRQ_ACK		0x64
#define EDU_DMA_SRC		0x80
#define EDU_DMA_DST		0x88
#define EDU_DMA_COUNT		0x90
#define EDU_DMA_CMD		0x98
#define  EDU_DMA_START		0x1
#define  EDU_DMA_TO_RAM		0x2	/* direction: device buffer -> RAM */
#define  EDU_DMA_IRQ		0x4	/* raise EDU_IRQ_DMA when done */
#define EDU_IRQ_DMA		0x100
#define EDU_BUF			0x40000	/* the device's buffer, in its own space */
/*
 * edu's buffer is 4 KiB, but QEMU 7.2 aborts on a transfer of the whole
 * 4096 bytes (an off-by-one in its range check): pieces of 2 KiB.
 */
#define EDU_PIECE		2048
#define EDU_IOVA_BASE		(1ULL << 20)
#define EDU_IOVA_END		(1ULL << 28)	/* edu's default dma_mask */
#define EDU_TIMEOUT_MS		10000		/* QEMU runs each transfer after 100 ms */

/*
 * Locks: `dma` (a fair ticket lock: queues take turns, piece by piece) for
 * the engine's registers, the counters and `broken`; `map` for the IOVA
 * space and the IOMMU mappings, so that stopping a queue (its lock held)
 * never waits behind another queue's transfers.  Never both at once.
 */
struct edu {
	struct vfio_pci *pci;
	char name[48];
	int irq_efd;			/* MSI, -1: poll the command register */
	pthread_mutex_t dma;
	pthread_cond_t turn;
	uint64_t next_ticket, serving;	/* dma: the ticket lock */
	uint64_t transfers, bytes;	/* dma */
	bool broken;			/* dma: a transfer timed out */
	pthread_mutex_t map;
	struct iova_space iova;		/* map */
	bool leak_iova;			/* map: never reuse a range (see unmap_queue) */
};

/* the SS region of a queue as the device sees it */
struct edu_map {
	struct uacce_region *ss;
	uint64_t iova, size;
};

static volatile uint32_t *reg32(struct edu *e, unsigned off)
{
	return (volatile uint32_t *)(void *)((char *)e->pci->bar + off);
}

static volatile uint64_t *reg64(struct edu *e, unsigned off)
{
	return (volatile uint64_t *)(void *)((char *)e->pci->bar + off);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void dma_lock(struct edu *e)
{
	uint64_t me;

	pthread_mutex_lock(&e->dma);
	me = e->next_ticket++;
	while (e->serving != me)
		pthread_cond_wait(&e->turn, &e->dma);
}

static void dma_unlock(struct edu *e)
{
	e->serving++;
	pthread_cond_broadcast(&e->turn);
	pthread_mutex_unlock(&e->dma);
}

/*
 * Wait for the engine to finish; 0 or -ETIMEDOUT.  dma lock held.  A
 * transfer once started is always waited for (not abandoned when its
 * queue stops): the device may still write into the queue's memory.  The
 * register is checked at least every 10 ms, so a lost MSI costs little.
 */
static int wait_done(struct edu *e)
{
	uint64_t end = now_ms() + EDU_TIMEOUT_MS;

	for (;;) {
		if (!(*reg64(e, EDU_DMA_CMD) & EDU_DMA_START))
			break;
		uint64_t now = now_ms();

		if (now >= end)
			return -ETIMEDOUT;
		if (e->irq_efd >= 0) {
			struct pollfd p = { .fd = e->irq_efd, .events = POLLIN };
			uint64_t n;

			if (poll(&p, 1, end - now < 10 ? (int)(end - now) : 10) > 0 &&
			    read(e->irq_efd, &n, sizeof(n)) != sizeof(n))
				continue;
		} else {
			usleep(1000);
		}
	}
	if (e->irq_efd >= 0) {
		uint32_t st = *reg32(e, EDU_IRQ_STATUS);

		if (st)
			*reg32(e, EDU_IRQ_ACK) = st;
	}
	return 0;
}

/* one transfer between RAM (iova) and the device buffer.  dma lock held. */
static int transfer(struct edu *e, uint64_t src, uint64_t dst, uint64_t len, bool to_ram)
{
	int err;

	*reg64(e, EDU_DMA_SRC) = src;
	*reg64(e, EDU_DMA_DST) = dst;
	*reg64(e, EDU_DMA_COUNT) = len;
	*reg64(e, EDU_DMA_CMD) = EDU_DMA_START | (to_ram ? EDU_DMA_TO_RAM : 0) |
				 (e->irq_efd >= 0 ? EDU_DMA_IRQ : 0);
	err = wait_done(e);
	if (err)
		return err;
	e->transfers++;
	e->bytes += len;
	return 0;
}

/*
 * Drop the queue's IOMMU mapping (its worker has stopped).  Once a
 * transfer timed out, or an unmap failed, the device may still write to a
 * range later: such ranges are never handed to another queue.
 */
static void unmap_queue(struct edu *e, struct soft_q *sq)
{
	struct edu_map *m = sq->engine_q;
	bool broken;
	int err;

	if (!m)
		return;
	pthread_mutex_lock(&e->dma);
	broken = e->broken;
	pthread_mutex_unlock(&e->dma);
	pthread_mutex_lock(&e->map);
	err = vfio_pci_dma_unmap(e->pci, m->iova, m->size);
	if (err)
		ulog_ctx(LOG_ERR, &(struct ulog_ctx){ .device = e->name },
			 "%s: cannot unmap IOVA 0x%llx (+%llu) from the IOMMU: %s; the range "
			 "stays reserved", e->name, (unsigned long long)m->iova,
			 (unsigned long long)m->size, strerror(-err));
	e->leak_iova |= broken || err;
	if (!e->leak_iova)
		iova_free(&e->iova, m->iova);
	pthread_mutex_unlock(&e->map);
	free(m);
	sq->engine_q = NULL;
}

/* the queue's SS region in the IOMMU (from its first request until stop) */
static int map_queue(struct edu *e, struct soft_q *sq, struct uacce_region *ss,
		     struct edu_map **out)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct edu_map *m = sq->engine_q;
	int err;

	if (m && m->ss == ss) {
		*out = m;
		return 0;
	}
	unmap_queue(e, sq);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->ss = ss;
	m->size = (uacce_region_size(ss) + (uint64_t)pg - 1) & ~((uint64_t)pg - 1);
	pthread_mutex_lock(&e->map);
	err = iova_alloc(&e->iova, m->size, &m->iova);
	if (!err) {
		err = vfio_pci_dma_map(e->pci, uacce_region_map(ss), m->iova, m->size);
		if (err)
			iova_free(&e->iova, m->iova);
	}
	pthread_mutex_unlock(&e->map);
	if (err) {
		ulog_rl(LOG_ERR, "%s: cannot map the SS region (%zu bytes) for the device: %s%s",
			uacce_hwq_label(sq->q), uacce_region_size(ss), strerror(-err),
			err == -ENOSPC ? " (the device's 256 MiB DMA window is full)" : "");
		free(m);
		return err;
	}
	sq->engine_q = m;
	*out = m;
	return 0;
}

static int edu_copy(void *ctx, struct soft_q *sq, struct uacce_region *ss, uint64_t dst,
		    uint64_t src, uint64_t len)
{
	struct edu *e = ctx;
	struct edu_map *m;
	/* overlapping with the target after the source: last piece first */
	bool backwards = src < dst && dst - src < len;
	int err = map_queue(e, sq, ss, &m);

	if (err)
		return err == -ENOSPC ? -ENOMEM : err;
	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done < EDU_PIECE ? len - done : EDU_PIECE;
		uint64_t off = backwards ? len - done - n : done;

		if (soft_stopping(sq))
			return -ECANCELED;
		dma_lock(e);
		err = e->broken ? -EIO : soft_stopping(sq) ? -ECANCELED : 0;
		if (!err)
			err = transfer(e, m->iova + src + off, EDU_BUF, n, false);
		if (!err)
			err = transfer(e, EDU_BUF, m->iova + dst + off, n, true);
		if (err == -ETIMEDOUT) {
			e->broken = true;
			ulog_ctx(LOG_ERR, &(struct ulog_ctx){ .device = e->name },
				 "%s (%s): a DMA transfer did not complete in %d ms: the device "
				 "is out of order, its requests fail with EIO from now on",
				 e->name, e->pci->bdf, EDU_TIMEOUT_MS);
		}
		dma_unlock(e);
		if (err)
			return err == -ECANCELED ? -ECANCELED : -EIO;
		done += n;
	}
	return 0;
}

static void edu_queue_stopped(void *ctx, struct soft_q *sq)
{
	unmap_queue(ctx, sq);
}

static const struct soft_engine edu_engine = {
	.copy = edu_copy,
	.queue_stopped = edu_queue_stopped,
};

static int cmp_range(const void *a, const void *b)
{
	const struct vfio_pci_iova_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Take out of edu's window what the IOMMU cannot map (an MSI window, a
 * reserved region of the platform): the complement of its usable ranges.
 * Returns the bytes of the window taken out.
 */
static uint64_t reserve_unusable(struct edu *e)
{
	struct vfio_pci_iova_range *r;
	uint64_t cur = EDU_IOVA_BASE, out = 0;
	int n;

	if (vfio_pci_iova_ranges(e->pci, &r, &n))
		return 0;	/* the kernel does not say: all of it is usable */
	qsort(r, (size_t)n, sizeof(*r), cmp_range);
	for (int i = 0; i <= n && cur < EDU_IOVA_END; i++) {
		uint64_t start = i < n ? r[i].start : EDU_IOVA_END;

		if (start > cur) {
			uint64_t end = (start < EDU_IOVA_END ? start : EDU_IOVA_END) - 1;

			if (iova_reserve(&e->iova, cur, end) == 0)
				out += end - cur + 1;
		}
		if (i < n && r[i].end >= cur)
			cur = r[i].end == UINT64_MAX ? EDU_IOVA_END : r[i].end + 1;
	}
	free(r);
	return out;
}

static void edu_free(struct edu *e)
{
	if (e->irq_efd >= 0) {
		vfio_pci_irq_disable(e->pci, VFIO_PCI_MSI_IRQ_INDEX);
		close(e->irq_efd);
	}
	iova_fini(&e->iova);
	pthread_mutex_destroy(&e->map);
	pthread_cond_destroy(&e->turn);
	pthread_mutex_destroy(&e->dma);
	free(e);
}

static int edu_create(struct vfio_pci *pci, const struct uacce_dev_cfg *cfg,
		      struct uacce_hwdev_info *info, void **priv, struct uacce_hwdev **soft,
		      char *why, size_t len)
{
	uint64_t unusable;
	struct edu *e;
	uint32_t id;
	int err;

	err = vfio_pci_map_bar(pci, VFIO_PCI_BAR0_REGION_INDEX, why, len);
	if (err)
		return err;
	if (pci->bar_size < EDU_DMA_CMD + 8) {
		snprintf(why, len, "%s: BAR0 is too small for an edu device", pci->bdf);
		return -ENODEV;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->pci = pci;
	e->irq_efd = -1;
	snprintf(e->name, sizeof(e->name), "%s", cfg->node_name ? cfg->node_name : cfg->name);
	pthread_mutex_init(&e->dma, NULL);
	pthread_cond_init(&e->turn, NULL);
	pthread_mutex_init(&e->map, NULL);
	iova_init(&e->iova, EDU_IOVA_BASE, EDU_IOVA_END, (uint64_t)sysconf(_SC_PAGESIZE));
	unusable = reserve_unusable(e);
	err = vfio_pci_command_set(pci, PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY);
	if (err) {
		snprintf(why, len, "%s: cannot enable memory decoding and bus mastering: %s",
			 pci->bdf, strerror(-err));
		edu_free(e);
		return err;
	}
	id = *reg32(e, EDU_ID);
	*reg32(e, EDU_LIVENESS) = 0x5a5aa5a5u;
	if ((id & 0xffff) != 0x00ed || *reg32(e, EDU_LIVENESS) != ~0x5a5aa5a5u) {
		snprintf(why, len, "%s: does not answer like an edu device (id 0x%08x)", pci->bdf,
			 id);
		vfio_pci_command_clear(pci, PCI_COMMAND_MASTER);
		edu_free(e);
		return -ENODEV;
	}
	err = vfio_pci_irq_eventfd(pci, VFIO_PCI_MSI_IRQ_INDEX, &e->irq_efd);
	if (err) {
		e->irq_efd = -1;
		ulog_ctx(LOG_WARNING, &(struct ulog_ctx){ .device = e->name },
			 "%s (%s): no MSI through VFIO (%s): completions are polled", e->name,
			 pci->bdf, strerror(-err));
	}
	err = soft_dev_create_engine(cfg, &edu_engine, e, info, soft);
	if (err) {
		snprintf(why, len, "cannot create the ring service: %s", strerror(-err));
		vfio_pci_command_clear(pci, PCI_COMMAND_MASTER);
		edu_free(e);
		return err;
	}
	ulog_ctx(LOG_INFO, &(struct ulog_ctx){ .device = e->name },
		 "%s: edu device %s (id 0x%08x), IOMMU group %d, completions by %s, "
		 "DMA window 0x%llx-0x%llx (%llu KiB of it not mappable by the IOMMU)", e->name,
		 pci->bdf, id, pci->group_id, e->irq_efd >= 0 ? "MSI" : "polling",
		 (unsigned long long)EDU_IOVA_BASE, (unsigned long long)EDU_IOVA_END - 1,
		 (unsigned long long)(unusable >> 10));
	*priv = e;
	return 0;
}

static void edu_destroy(void *priv)
{
	struct edu *e = priv;

	ulog_ctx(LOG_INFO, &(struct ulog_ctx){ .device = e->name },
		 "%s: edu device %s released after %llu DMA transfers (%llu bytes)", e->name,
		 e->pci->bdf, (unsigned long long)e->transfers, (unsigned long long)e->bytes);
	vfio_pci_command_clear(e->pci, PCI_COMMAND_MASTER);
	edu_free(e);
}

const struct vfio_model vfio_model_edu = {
	.id = &vfio_id_edu,
	.create = edu_create,
	.destroy = edu_destroy,
};
