/* rsi_torch_use_huge_pages: large tensors in huge pages, kept for reuse.
 *
 * A 64 MiB tensor is made, freed and made again. With rsicam's allocator
 * the second one reuses the first block, so filling it touches no new
 * page; with libtorch's own (RSICAM_SMALL_PAGES), glibc maps a block that
 * large afresh each time, and filling it faults in every 4 KiB page again
 * (the contrast shows that the fault count can tell the two apart). Each
 * test runs in its own forked process (Check's default), so each installs
 * the allocator, or not, for the first time. Tensors that outlive a
 * forward (rsi_torch_lasting_begin) keep out of the blocks that the next
 * forward will want. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "rsicam/model.h"
#include "rsicam/tensor.h"
#include "testkit.h"

enum { FLOATS = 16 << 20 }; /* 64 MiB */

static long minor_faults(void)
{
    struct rusage u;
    ck_assert_int_eq(getrusage(RUSAGE_SELF, &u), 0);
    return u.ru_minflt;
}

/* A tensor of n floats of value, every page written. */
static rsi_tensor *filled(int64_t n, double value)
{
    const int64_t shape[1] = {n};
    rsi_tensor *t = rsi_tensor_full(shape, 1, value);
    ck_assert_ptr_nonnull(t);
    return t;
}

/* The minor faults that making and filling `times` tensors of n floats,
 * one after another (each freed before the next, and one made and freed
 * before counting), cost; checks each one's last value. */
static long faults_of_refills(int64_t n, int times)
{
    rsi_tensor_free(filled(n, -1.0));
    long faults = 0;
    for (int i = 0; i < times; i++) {
        const long at = minor_faults();
        rsi_tensor *t = filled(n, (double)i);
        faults += minor_faults() - at;
        float last;
        rsi_tensor *tail = rsi_tensor_narrow(t, 0, n - 1, 1);
        ck_assert_int_eq(rsi_tensor_to_floats(tail, &last, 1), 0);
        ck_assert_float_eq(last, (float)i);
        rsi_tensor_free(tail);
        rsi_tensor_free(t);
    }
    return faults;
}

START_TEST(a_freed_block_is_reused)
{
    unsetenv("RSICAM_SMALL_PAGES");
    ck_assert_int_eq(rsi_torch_use_huge_pages(), 0);
    ck_assert_int_eq(rsi_torch_huge_pages(), 1);
    const long faults = faults_of_refills(FLOATS, 1);
    ck_assert_msg(faults < 256, "%ld faults filling a reused block", faults);
}
END_TEST

/* Blocks from 128 KiB to 1 MiB are kept for reuse too, in small pages.
 * Left to glibc's heap, whether a freed one was reused depended on the
 * heap's layout: 768 and 1,408 faults in two builds of this test (2,580
 * mapped afresh each time); kept, none. */
START_TEST(smaller_blocks_are_reused_too)
{
    unsetenv("RSICAM_SMALL_PAGES");
    ck_assert_int_eq(rsi_torch_use_huge_pages(), 0);
    const long faults = faults_of_refills(128 << 10, 20); /* 512 KiB */
    /* fewer than one block's 128 pages in all */
    ck_assert_msg(faults < 128, "%ld faults for 20 blocks of 512 KiB", faults);
}
END_TEST

/* Sizes that take turns, as a forward's do: live together, some freed, a
 * larger one asked for, all freed, again and again. Kept to the peak of
 * the live blocks alone, the cache unmapped blocks and faulted others in
 * afresh in the fourth and fifth rounds (288 pages); with the slack it
 * settles by the third. In units of 128 KiB, small pages. */
START_TEST(sizes_that_take_turns_settle)
{
    unsetenv("RSICAM_SMALL_PAGES");
    ck_assert_int_eq(rsi_torch_use_huge_pages(), 0);
    const int64_t unit = 32 << 10; /* floats */
    long late = 0;
    for (int round = 0; round < 8; round++) {
        const long at = minor_faults();
        rsi_tensor *c = filled(1 * unit, 1.0), *b = filled(2 * unit, 2.0),
                   *a = filled(4 * unit, 3.0), *d = filled(4 * unit, 4.0);
        rsi_tensor_free(c);
        rsi_tensor_free(b);
        rsi_tensor *e = filled(5 * unit, 5.0);
        rsi_tensor_free(a);
        rsi_tensor_free(d);
        rsi_tensor_free(e);
        if (round >= 3)
            late += minor_faults() - at;
    }
    ck_assert_msg(late < 32, "%ld faults after the third round", late);
}
END_TEST

/* A forward's activations, made and freed: two blocks of 512 KiB (small
 * pages, 128 each). */
static void forward_of_two(void)
{
    const int64_t n = 128 << 10; /* floats */
    rsi_tensor *a = filled(n, 1.0), *b = filled(n, 2.0);
    rsi_tensor_free(a);
    rsi_tensor_free(b);
}

/* The faults of a second forward after a tensor of 384 KiB was made
 * between the two and kept (a sum, say), lasting or not. */
static long second_forward_faults(int lasting)
{
    unsetenv("RSICAM_SMALL_PAGES");
    ck_assert_int_eq(rsi_torch_use_huge_pages(), 0);
    forward_of_two();
    if (lasting)
        rsi_torch_lasting_begin();
    rsi_tensor *kept = filled(96 << 10, 3.0);
    if (lasting)
        rsi_torch_lasting_end();
    const long at = minor_faults();
    forward_of_two();
    const long faults = minor_faults() - at;
    rsi_tensor_free(kept);
    return faults;
}

/* Made lasting, the kept tensor takes a block of its own, and the second
 * forward finds both of the first one's blocks. */
START_TEST(lasting_tensors_leave_the_forwards_blocks)
{
    const long faults = second_forward_faults(1);
    ck_assert_msg(faults < 32, "%ld faults in the second forward", faults);
}
END_TEST

/* The contrast: not lasting, it takes a block that the first forward
 * freed (the smallest that holds it), and the second forward maps its
 * blocks afresh (the bound on what is mapped unmaps the other one). */
START_TEST(other_tensors_take_the_forwards_blocks)
{
    const long faults = second_forward_faults(0);
    ck_assert_msg(faults >= 128, "%ld faults in the second forward", faults);
}
END_TEST

/* A tensor many times smaller than the one block a forward freed (2 MiB
 * against 64 MiB), made between two forwards and kept, maps a block of
 * its own: the second forward finds its block again. Before, the small
 * tensor took the large block, and the second forward mapped and faulted
 * in another (32 faults in huge pages, 16,384 in small ones). */
START_TEST(a_small_tensor_leaves_a_large_block)
{
    unsetenv("RSICAM_SMALL_PAGES");
    ck_assert_int_eq(rsi_torch_use_huge_pages(), 0);
    rsi_tensor_free(filled(FLOATS, 1.0));
    rsi_tensor *kept = filled(FLOATS / 32, 2.0);
    const long at = minor_faults();
    rsi_tensor_free(filled(FLOATS, 3.0));
    const long faults = minor_faults() - at;
    rsi_tensor_free(kept);
    ck_assert_msg(faults < 16, "%ld faults in the second forward", faults);
}
END_TEST

START_TEST(small_pages_when_asked)
{
    setenv("RSICAM_SMALL_PAGES", "1", 1);
    ck_assert_int_eq(rsi_torch_use_huge_pages(), 0);
    ck_assert_int_eq(rsi_torch_huge_pages(), 0);
    const long faults = faults_of_refills(FLOATS, 1);
    ck_assert_msg(faults > FLOATS / 1024 / 2,
                  "%ld faults: glibc reused the block after all", faults);
}
END_TEST

/* The kernel's AnonHugePages for this process, in KiB. */
static long anon_huge_kb(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
            break;
    fclose(f);
    ck_assert_int_ge(kb, 0);
    return kb;
}

/* Whether the kernel grants huge pages to a program that asks. */
static int huge_pages_on_offer(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char mode[128] = "";
    if (f) {
        if (!fgets(mode, sizeof mode, f))
            mode[0] = 0;
        fclose(f);
    }
    return strstr(mode, "[always]") || strstr(mode, "[madvise]");
}

START_TEST(large_blocks_sit_in_huge_pages)
{
    if (!huge_pages_on_offer())
        return; /* nothing to ask for: the allocator still caches */
    unsetenv("RSICAM_SMALL_PAGES");
    ck_assert_int_eq(rsi_torch_use_huge_pages(), 0);
    const long before = anon_huge_kb();
    rsi_tensor *t = filled(FLOATS, 1.0);
    const long gained = anon_huge_kb() - before;
    /* the kernel may lack free 2 MiB frames for some: half will do */
    ck_assert_msg(gained >= FLOATS * 4 / 1024 / 2,
                  "%ld KiB of 65536 in huge pages", gained);
    rsi_tensor_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("huge_pages");
    TCase *tc = tcase_create("allocator");
    tcase_add_test(tc, a_freed_block_is_reused);
    tcase_add_test(tc, smaller_blocks_are_reused_too);
    tcase_add_test(tc, sizes_that_take_turns_settle);
    tcase_add_test(tc, lasting_tensors_leave_the_forwards_blocks);
    tcase_add_test(tc, other_tensors_take_the_forwards_blocks);
    tcase_add_test(tc, a_small_tensor_leaves_a_large_block);
    tcase_add_test(tc, small_pages_when_asked);
    tcase_add_test(tc, large_blocks_sit_in_huge_pages);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
