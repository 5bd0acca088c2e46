/* rsi_torch_set_threads: OpenBLAS runs the kernels of the CPU at hand and
 * its workers sleep soon after a call, and every thread takes the count
 * without libtorch's per-thread reset.
 *
 * OpenBLAS keeps its worker threads spinning for 2^OPENBLAS_THREAD_TIMEOUT
 * cycles after each call (28 unless told), which took the cores from
 * libtorch's OpenMP team (core/torch/openblas.cpp). Setting the threads
 * sets the timeout to 4 unless the user set one, and leaves
 * OPENBLAS_THREAD_TIMEOUT as it found it. OpenBLAS reports the timeout it read
 * through openblas_thread_timeout().
 *
 * libtorch applies its thread count on each thread's first parallel
 * operation; a count set through at::set_num_threads is applied by calling
 * it again, which (libtorch 1.13) replaces the thread pool it keeps for
 * QNNPACK: a new worker thread, spinning on a core, for every thread that
 * rsicam or OpenMP starts. rsicam sets the count through the environment
 * instead (core/torch/threads.cpp). Each test runs in its own forked
 * process (Check's default), so each sees libtorch as it started. */
#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsicam/model.h"
#include "rsicam/tensor.h"
#include "testkit.h"

/* OpenBLAS's report of its timeout; the test fails without OpenBLAS,
 * which tools/setup installs as the BLAS libtorch calls. */
static int openblas_timeout(void)
{
    int (*timeout)(void) =
        (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_thread_timeout");
    ck_assert_msg(timeout != NULL, "libtorch does not call OpenBLAS here");
    return timeout();
}

START_TEST(workers_sleep_after_2_to_the_4_cycles)
{
    unsetenv("OPENBLAS_THREAD_TIMEOUT");
    ck_assert_int_eq(rsi_torch_set_threads(2), 0);
    ck_assert_int_eq(openblas_timeout(), 4);
    ck_assert_ptr_null(getenv("OPENBLAS_THREAD_TIMEOUT"));
}
END_TEST

START_TEST(a_users_timeout_stands)
{
    const int at_start = openblas_timeout();
    setenv("OPENBLAS_THREAD_TIMEOUT", "12", 1);
    ck_assert_int_eq(rsi_torch_set_threads(2), 0);
    /* rsicam neither re-read nor replaced it */
    ck_assert_int_eq(openblas_timeout(), at_start);
    ck_assert_str_eq(getenv("OPENBLAS_THREAD_TIMEOUT"), "12");
}
END_TEST

/* OpenBLAS's name for the kernels it runs. */
static const char *openblas_kernels(void)
{
    const char *(*corename)(void) =
        (const char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
    ck_assert_msg(corename != NULL, "libtorch does not call OpenBLAS here");
    return corename();
}

/* Debian's OpenBLAS falls back to kernels without AVX on a CPU it does not
 * know (Prescott's on family 6 model 207 here); rsicam has it take the
 * kernels the CPU can run (core/torch/openblas.cpp). */
START_TEST(kernels_fit_the_cpu)
{
    unsetenv("OPENBLAS_CORETYPE");
    ck_assert_int_eq(rsi_torch_set_threads(2), 0);
#if defined(__x86_64__)
    __builtin_cpu_init();
    /* OpenBLAS's fallbacks for an Intel and an AMD CPU it does not know */
    if (__builtin_cpu_supports("avx")) {
        ck_assert_str_ne(openblas_kernels(), "Prescott");
        ck_assert_str_ne(openblas_kernels(), "Barcelona");
    }
    if (__builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        ck_assert_msg(strcmp(openblas_kernels(), "Sandybridge") != 0 &&
                          strcmp(openblas_kernels(), "Haswell") != 0,
                      "an AVX-512 CPU runs OpenBLAS's %s kernels",
                      openblas_kernels());
#endif
    ck_assert_ptr_null(getenv("OPENBLAS_CORETYPE"));
}
END_TEST

/* A user's OPENBLAS_CORETYPE stands: OpenBLAS is not asked again. */
START_TEST(a_users_coretype_stands)
{
    char at_start[64];
    snprintf(at_start, sizeof at_start, "%s", openblas_kernels());
    setenv("OPENBLAS_CORETYPE", "Sandybridge", 1);
    ck_assert_int_eq(rsi_torch_set_threads(2), 0);
    ck_assert_str_eq(openblas_kernels(), at_start);
    ck_assert_str_eq(getenv("OPENBLAS_CORETYPE"), "Sandybridge");
}
END_TEST

/* BLAS's Fortran sgemm: C = alpha A B + beta C, column-major. */
typedef void sgemm_fn(const char *, const char *, const int *, const int *,
                      const int *, const float *, const float *, const int *,
                      const float *, const int *, const float *, float *,
                      const int *);

START_TEST(blas_still_computes_after_the_restart)
{
    unsetenv("OPENBLAS_THREAD_TIMEOUT");
    ck_assert_int_eq(rsi_torch_set_threads(2), 0);
    /* the workers were stopped; the next call must start them again */
    sgemm_fn *sgemm = (sgemm_fn *)dlsym(RTLD_DEFAULT, "sgemm_");
    ck_assert_ptr_nonnull(sgemm);
    enum { N = 256 };
    static float a[N * N], b[N * N], c[N * N];
    for (int i = 0; i < N * N; i++) {
        a[i] = (float)(i % 7);
        b[i] = (i % (N + 1)) == 0; /* the identity */
    }
    const int n = N;
    const float one = 1.0f, zero = 0.0f;
    sgemm("N", "N", &n, &n, &n, &one, a, &n, b, &n, &zero, c, &n);
    for (int i = 0; i < N * N; i++)
        ck_assert_float_eq(c[i], a[i]);
}
END_TEST

/* The ids of this process's threads, increasing; returns how many. */
enum { MAX_TASKS = 256 };
static int task_ids(long ids[MAX_TASKS])
{
    DIR *d = opendir("/proc/self/task");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') {
            ck_assert_int_lt(n, MAX_TASKS);
            long id = strtol(e->d_name, NULL, 10);
            int at = n++;
            for (; at > 0 && ids[at - 1] > id; at--)
                ids[at] = ids[at - 1];
            ids[at] = id;
        }
    closedir(d);
    return n;
}

/* A sum over a million elements: large enough that libtorch splits it
 * over its threads. */
static void parallel_sum(void)
{
    const int64_t shape[1] = {1 << 20};
    rsi_tensor *t = rsi_tensor_full(shape, 1, 1.0);
    ck_assert_ptr_nonnull(t);
    double sum = 0;
    ck_assert_int_eq(rsi_tensor_sum_all(t, &sum), 0);
    ck_assert(sum == (double)(1 << 20));
    rsi_tensor_free(t);
}

/* What a thread that rsicam starts sees on its first use of libtorch: the
 * count, and the process's threads just before and after it asked. */
typedef struct {
    int threads;
    long before[MAX_TASKS], after[MAX_TASKS];
    int n_before, n_after;
} first_use;

static void *use_libtorch_first(void *arg)
{
    first_use *u = arg;
    u->n_before = task_ids(u->before);
    u->threads = rsi_torch_get_threads(); /* libtorch's per-thread setup */
    u->n_after = task_ids(u->after);
    parallel_sum();
    return NULL;
}

static first_use on_a_new_thread(void)
{
    first_use u = {0};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, use_libtorch_first, &u), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    return u;
}

START_TEST(every_new_thread_takes_the_count)
{
    ck_assert_int_eq(rsi_torch_set_threads(3), 0);
    ck_assert_int_eq(rsi_torch_get_threads(), 3);
    ck_assert_int_eq(on_a_new_thread().threads, 3);
    /* set again: the new count, on this thread and on new ones */
    ck_assert_int_eq(rsi_torch_set_threads(2), 0);
    ck_assert_int_eq(rsi_torch_get_threads(), 2);
    ck_assert_int_eq(on_a_new_thread().threads, 2);
    parallel_sum();
}
END_TEST

START_TEST(a_new_threads_first_use_starts_and_stops_no_thread)
{
    ck_assert_int_eq(rsi_torch_set_threads(2), 0);
    parallel_sum(); /* this thread's own setup and OpenMP team, done */
    const first_use u = on_a_new_thread();
    ck_assert_int_eq(u.threads, 2);
    ck_assert_int_eq(u.n_after, u.n_before);
    ck_assert_msg(memcmp(u.before, u.after, sizeof(long) * u.n_after) == 0,
                  "a thread's first use of libtorch replaced a thread of "
                  "the process (libtorch's QNNPACK pool)");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("openblas");
    tcase_add_test(tc, workers_sleep_after_2_to_the_4_cycles);
    tcase_add_test(tc, a_users_timeout_stands);
    tcase_add_test(tc, blas_still_computes_after_the_restart);
    tcase_add_test(tc, kernels_fit_the_cpu);
    tcase_add_test(tc, a_users_coretype_stands);
    suite_add_tcase(s, tc);
    TCase *intraop = tcase_create("intraop");
    tcase_add_test(intraop, every_new_thread_takes_the_count);
    tcase_add_test(intraop, a_new_threads_first_use_starts_and_stops_no_thread);
    suite_add_tcase(s, intraop);
    return tk_run(s);
}
