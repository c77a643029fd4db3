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
	struct list maps;		/* map: edu_map.link of the queues' mappings */
	/* map: mappings a predecessor daemon made, not adopted by a queue yet
	 * (edu_adopt .. edu_adopt_done) */
	struct list claims;
};

/* the SS region of a queue as the device sees it */
struct edu_map {
	struct list link;		/* edu.maps or edu.claims; the map lock */
	struct uacce_region *ss;	/* NULL: a claim */
	uint64_t iova, size;
	uint64_t qid;			/* the queue's id (uacce_hwq_id) */
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
 * Wait for the engine to finish; 0 or -ETIMEDOUT.  dma lock held (or no
 * other thread yet: quiesce).  A
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
	list_del(&m->link);
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
	m->qid = uacce_hwq_id(sq->q);
	m->size = (uacce_region_size(ss) + (uint64_t)pg - 1) & ~((uint64_t)pg - 1);
	pthread_mutex_lock(&e->map);
	err = iova_alloc(&e->iova, m->size, &m->iova);
	if (!err) {
		err = vfio_pci_dma_map(e->pci, uacce_region_map(ss), m->iova, m->size);
		if (err)
			iova_free(&e->iova, m->iova);
		else
			list_add_tail(&e->maps, &m->link);
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

/* --- live restart ----------------------------------------------------------- */

/*
 * A queue's bytes: EDU_QSAVE_V1, its mapping's IOVA and size (64-bit LE);
 * nothing when it has no mapping (no request since it started).
 */
#define EDU_QSAVE_V1		1
#define EDU_QSAVE_LEN		17

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* qlock held, the queue suspended: its worker does not map or unmap */
static ssize_t edu_save_queue(void *ctx, struct soft_q *sq, uint8_t *buf, size_t len)
{
	struct edu_map *m = sq->engine_q;

	(void)ctx;
	if (!m)
		return 0;
	if (len < EDU_QSAVE_LEN)
		return -ENOSPC;
	buf[0] = EDU_QSAVE_V1;
	put64(buf + 1, m->iova);
	put64(buf + 9, m->size);
	return EDU_QSAVE_LEN;
}

/*
 * The successor: the queue's mapping, made by the predecessor in the
 * container we adopted, is the claim with its id, IOVA and size.  Its
 * memory is the same (the region's memfd): the IOMMU maps the same pages.
 */
static int edu_adopt_queue(void *ctx, struct soft_q *sq, const uint8_t *buf, size_t len)
{
	struct edu *e = ctx;
	struct uacce_region *ss = uacce_hwq_data_region(sq->q);
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t iova, size, qid = uacce_hwq_id(sq->q);
	struct edu_map *m = NULL;

	if (len < EDU_QSAVE_LEN || buf[0] != EDU_QSAVE_V1) {
		log_err("%s: live restart: queue state of the DMA engine: version %u, this uacced "
			"reads %d", uacce_hwq_label(sq->q), len ? buf[0] : 0, EDU_QSAVE_V1);
		return -EINVAL;
	}
	iova = get64(buf + 1);
	size = get64(buf + 9);
	pthread_mutex_lock(&e->map);
	list_for_each(pos, &e->claims) {
		struct edu_map *c = container_of(pos, struct edu_map, link);

		if (c->qid == qid && c->iova == iova && c->size == size) {
			m = c;
			break;
		}
	}
	if (m && ss && ((uacce_region_size(ss) + (uint64_t)pg - 1) & ~((uint64_t)pg - 1)) == size) {
		list_del(&m->link);
		m->ss = ss;
		list_add_tail(&e->maps, &m->link);
		sq->engine_q = m;
	} else {
		m = NULL;
	}
	pthread_mutex_unlock(&e->map);
	if (!m) {
		log_err("%s: live restart: its IOMMU mapping (IOVA 0x%llx, %llu bytes) is not in "
			"the adopted device state", uacce_hwq_label(sq->q), (unsigned long long)iova,
			(unsigned long long)size);
		return -EINVAL;
	}
	return 0;
}

/*
 * After a crash of uacced: the device was set up afresh (edu_create: the
 * dead daemon's container went with its fds, and every IOMMU mapping with
 * it), so the queue has no mapping; its next request maps its SS region
 * again, at an IOVA of this daemon's.  The client never sees an IOVA (its
 * requests name offsets in the SS region).
 */
static int edu_recover_queue(void *ctx, struct soft_q *sq)
{
	(void)ctx;
	sq->engine_q = NULL;
	return 0;
}

static const struct soft_engine edu_engine = {
	.copy = edu_copy,
	.queue_stopped = edu_queue_stopped,
	.save_queue = edu_save_queue,
	.adopt_queue = edu_adopt_queue,
	.recover_queue = edu_recover_queue,
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
	list_for_each(pos, &e->claims) {
		list_del(pos);
		free(container_of(pos, struct edu_map, link));
	}
	iova_fini(&e->iova);
	pthread_mutex_destroy(&e->map);
	pthread_cond_destroy(&e->turn);
	pthread_mutex_destroy(&e->dma);
	free(e);
}

/* BAR0 mapped and an edu's struct, its locks, lists and IOVA window (create, adopt) */
static int edu_new(struct vfio_pci *pci, const struct uacce_dev_cfg *cfg, char *why, size_t len,
		   struct edu **out)
{
	struct edu *e;
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
	e->irq_efd = -1;	/* an adopt's caller owns its eventfd until it succeeds */
	snprintf(e->name, sizeof(e->name), "%s", cfg->node_name ? cfg->node_name : cfg->name);
	pthread_mutex_init(&e->dma, NULL);
	pthread_cond_init(&e->turn, NULL);
	pthread_mutex_init(&e->map, NULL);
	list_init(&e->maps);
	list_init(&e->claims);
	iova_init(&e->iova, EDU_IOVA_BASE, EDU_IOVA_END, (uint64_t)sysconf(_SC_PAGESIZE));
	*out = e;
	return 0;
}

/*
 * Before bus mastering goes on: a transfer a previous owner of the device
 * started must have ended (uacced killed in the middle of one: VFIO does
 * not reset edu, whose engine runs each transfer 100 ms after its start;
 * with bus mastering off it goes nowhere, with it on it would write into
 * whatever the new IOVA space maps there).  Its interrupt status goes too.
 * 0, or -ETIMEDOUT with why.
 */
static int quiesce(struct edu *e, char *why, size_t len)
{
	bool busy = *reg64(e, EDU_DMA_CMD) & EDU_DMA_START;
	uint32_t st;

	/* no MSI yet (irq_efd -1): wait_done polls the register */
	if (busy && wait_done(e)) {
		snprintf(why, len, "%s: a DMA transfer started before uacced took the device "
			 "did not end in %d ms", e->pci->bdf, EDU_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	st = *reg32(e, EDU_IRQ_STATUS);
	if (st)
		*reg32(e, EDU_IRQ_ACK) = st;
	if (busy)
		ulog_ctx(LOG_INFO, &(struct ulog_ctx){ .device = e->name },
			 "%s (%s): waited for a DMA transfer its previous owner had started",
			 e->name, e->pci->bdf);
	return 0;
}

static int edu_create(struct vfio_pci *pci, const struct uacce_dev_cfg *cfg,
		      struct uacce_hwdev_info *info, void **priv, struct uacce_hwdev **soft,
		      char *why, size_t len)
{
	uint64_t unusable;
	struct edu *e;
	uint32_t id;
	int err;

	err = edu_new(pci, cfg, why, len, &e);
	if (err)
		return err;
	unusable = reserve_unusable(e);
	/* the registers first; bus mastering once no old transfer can run */
	err = vfio_pci_command_set(pci, PCI_COMMAND_MEMORY);
	if (err) {
		snprintf(why, len, "%s: cannot enable memory decoding: %s", pci->bdf,
			 strerror(-err));
		edu_free(e);
		return err;
	}
	id = *reg32(e, EDU_ID);
	*reg32(e, EDU_LIVENESS) = 0x5a5aa5a5u;
	if ((id & 0xffff) != 0x00ed || *reg32(e, EDU_LIVENESS) != ~0x5a5aa5a5u) {
		snprintf(why, len, "%s: does not answer like an edu device (id 0x%08x)", pci->bdf,
			 id);
		edu_free(e);
		return -ENODEV;
	}
	err = quiesce(e, why, len);
	if (err) {
		edu_free(e);
		return err;
	}
	err = vfio_pci_command_set(pci, PCI_COMMAND_MASTER);
	if (err) {
		snprintf(why, len, "%s: cannot enable bus mastering: %s", pci->bdf,
			 strerror(-err));
		edu_free(e);
		return err;
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

/*
 * The device's bytes: EDU_SAVE_V1, flags (EDU_ST_*), DMA transfers and
 * bytes so far, the number of IOVA ranges in use, then each range: start,
 * size, the id of the queue whose mapping it is (0: reserved, or kept out
 * of use for good).  All 64-bit LE but the count (32-bit LE).  Fds: the
 * MSI eventfd when EDU_ST_MSI.
 */
#define EDU_SAVE_V1		1
#define EDU_ST_BROKEN		0x1
#define EDU_ST_LEAK		0x2
#define EDU_ST_MSI		0x4
#define EDU_SAVE_HDR		22
#define EDU_SAVE_RANGE		24

static ssize_t edu_save(void *priv, uint8_t *buf, size_t len, int *fds, int *nfds)
{
	struct edu *e = priv;
	struct iova_span *sp;
	uint8_t flags = 0;
	int n;

	pthread_mutex_lock(&e->dma);
	flags |= e->broken ? EDU_ST_BROKEN : 0;
	put64(buf + 2, e->transfers);
	put64(buf + 10, e->bytes);
	pthread_mutex_unlock(&e->dma);
	pthread_mutex_lock(&e->map);
	n = iova_list(&e->iova, NULL, 0);
	sp = calloc((size_t)n + 1, sizeof(*sp));
	if (!sp || len < EDU_SAVE_HDR + (size_t)n * EDU_SAVE_RANGE) {
		pthread_mutex_unlock(&e->map);
		free(sp);
		return sp ? -ENOSPC : -ENOMEM;
	}
	iova_list(&e->iova, sp, n);
	flags |= e->leak_iova ? EDU_ST_LEAK : 0;
	for (int i = 0; i < n; i++) {
		uint8_t *r = buf + EDU_SAVE_HDR + (size_t)i * EDU_SAVE_RANGE;
		uint64_t qid = 0;

		list_for_each(pos, &e->maps) {
			struct edu_map *m = container_of(pos, struct edu_map, link);

			if (m->iova == sp[i].start)
				qid = m->qid;
		}
		put64(r, sp[i].start);
		put64(r + 8, sp[i].size);
		put64(r + 16, qid);
	}
	pthread_mutex_unlock(&e->map);
	free(sp);
	flags |= e->irq_efd >= 0 ? EDU_ST_MSI : 0;
	buf[0] = EDU_SAVE_V1;
	buf[1] = flags;
	for (int i = 0; i < 4; i++)
		buf[18 + i] = (uint8_t)((uint32_t)n >> (8 * i));
	*nfds = 0;
	if (e->irq_efd >= 0)
		fds[(*nfds)++] = e->irq_efd;
	return EDU_SAVE_HDR + (ssize_t)n * EDU_SAVE_RANGE;
}

static uint32_t save_nranges(const uint8_t *buf)
{
	return (uint32_t)buf[18] | (uint32_t)buf[19] << 8 | (uint32_t)buf[20] << 16 |
	       (uint32_t)buf[21] << 24;
}

static int edu_check(const uint8_t *buf, size_t blen, int nfds, char *why, size_t len)
{
	if (blen < EDU_SAVE_HDR || buf[0] != EDU_SAVE_V1) {
		snprintf(why, len, "edu device state: version %u, this uacced reads %d",
			 blen ? buf[0] : 0, EDU_SAVE_V1);
		return -EINVAL;
	}
	if ((blen - EDU_SAVE_HDR) / EDU_SAVE_RANGE < save_nranges(buf) ||
	    (buf[1] & EDU_ST_MSI ? 1 : 0) > nfds) {
		snprintf(why, len, "edu device state: truncated (%zu bytes, %u ranges, %d fds)",
			 blen, save_nranges(buf), nfds);
		return -EINVAL;
	}
	return 0;
}

static int edu_adopt(struct vfio_pci *pci, const struct uacce_dev_cfg *cfg, const uint8_t *buf,
		     size_t blen, int *fds, int nfds, struct uacce_hwdev_info *info, void **priv,
		     struct uacce_hwdev **soft, char *why, size_t len)
{
	uint32_t n, id, nclaims = 0;
	struct edu *e;
	int err = edu_check(buf, blen, nfds, why, len);

	if (err)
		return err;
	err = edu_new(pci, cfg, why, len, &e);
	if (err)
		return err;
	e->broken = buf[1] & EDU_ST_BROKEN;
	e->leak_iova = buf[1] & EDU_ST_LEAK;
	e->transfers = get64(buf + 2);
	e->bytes = get64(buf + 10);
	n = save_nranges(buf);
	for (uint32_t i = 0; i < n && !err; i++) {
		const uint8_t *r = buf + EDU_SAVE_HDR + (size_t)i * EDU_SAVE_RANGE;
		struct edu_map *c;

		err = iova_restore(&e->iova, get64(r), get64(r + 8));
		if (err) {
			snprintf(why, len, "edu device state: IOVA range 0x%llx (+%llu): %s",
				 (unsigned long long)get64(r), (unsigned long long)get64(r + 8),
				 strerror(-err));
			break;
		}
		if (!get64(r + 16))
			continue;
		c = calloc(1, sizeof(*c));
		if (!c) {
			err = -ENOMEM;
			snprintf(why, len, "out of memory");
			break;
		}
		c->iova = get64(r);
		c->size = get64(r + 8);
		c->qid = get64(r + 16);
		list_add_tail(&e->claims, &c->link);
		nclaims++;
	}
	/* a read, no write: is it still the device it was? */
	id = err ? 0 : *reg32(e, EDU_ID);
	if (!err && (id & 0xffff) != 0x00ed) {
		snprintf(why, len, "%s: does not answer like an edu device (id 0x%08x)", pci->bdf, id);
		err = -ENODEV;
	}
	if (!err) {
		err = soft_dev_create_engine(cfg, &edu_engine, e, info, soft);
		if (err)
			snprintf(why, len, "cannot create the ring service: %s", strerror(-err));
	}
	if (err) {
		edu_free(e);	/* irq_efd -1: the MSI stays as it is, its fd the caller's */
		return err;
	}
	if (buf[1] & EDU_ST_MSI) {
		e->irq_efd = fds[0];
		fds[0] = -1;
	}
	ulog_ctx(LOG_INFO, &(struct ulog_ctx){ .device = e->name },
		 "%s: edu device %s adopted from the predecessor (id 0x%08x), IOMMU group %d, "
		 "completions by %s, %u IOMMU mapping(s) of queues, %llu DMA transfers so far%s",
		 e->name, pci->bdf, id, pci->group_id, e->irq_efd >= 0 ? "MSI" : "polling",
		 nclaims, (unsigned long long)e->transfers,
		 e->broken ? "; it is out of order (a transfer timed out before)" : "");
	*priv = e;
	return 0;
}

/* the predecessor's mappings of queues that were not adopted go */
static void edu_adopt_done(void *priv)
{
	struct edu *e = priv;
	unsigned n = 0;

	pthread_mutex_lock(&e->map);
	list_for_each(pos, &e->claims) {
		struct edu_map *c = container_of(pos, struct edu_map, link);
		int err = vfio_pci_dma_unmap(e->pci, c->iova, c->size);

		if (err)
			ulog_ctx(LOG_ERR, &(struct ulog_ctx){ .device = e->name },
				 "%s: cannot unmap IOVA 0x%llx (+%llu) of a queue not adopted: %s; "
				 "the range stays reserved", e->name, (unsigned long long)c->iova,
				 (unsigned long long)c->size, strerror(-err));
		e->leak_iova |= err != 0;
		if (!e->leak_iova)
			iova_free(&e->iova, c->iova);
		list_del(pos);
		free(c);
		n++;
	}
	pthread_mutex_unlock(&e->map);
	if (n)
		ulog_ctx(LOG_INFO, &(struct ulog_ctx){ .device = e->name },
			 "%s: live restart: %u IOMMU mapping(s) of queues not adopted released",
			 e->name, n);
}

const struct vfio_model vfio_model_edu = {
	.id = &vfio_id_edu,
	.create = edu_create,
	.destroy = edu_destroy,
	.save = edu_save,
	.check = edu_check,
	.adopt = edu_adopt,
	.adopt_done = edu_adopt_done,
};
