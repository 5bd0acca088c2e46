/* rsi_torch_set_threads: OpenBLAS's workers sleep soon after a call.
 *
 * OpenBLAS keeps its worker threads spinning for 2^OPENBLAS_THREAD_TIMEOUT
 * cycles after each call (28 unless told), which took the cores from
 * libtorch's OpenMP team (core/torch/threads.cpp). Setting the threads
 * sets the timeout to 4 unless the user set one, and leaves the
 * environment as it found it. OpenBLAS reports the timeout it read
 * through openblas_thread_timeout(). Each test runs in its own forked
 * process (Check's default), so each sees OpenBLAS as it started. */
#include <check.h>
#include <dlfcn.h>
#include <stdlib.h>

#include "rsicam/model.h"
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

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("openblas");
    tcase_add_test(tc, workers_sleep_after_2_to_the_4_cycles);
    tcase_add_test(tc, a_users_timeout_stands);
    tcase_add_test(tc, blas_still_computes_after_the_restart);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
