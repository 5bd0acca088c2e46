/* The error buffer (error.h): first message wins, context prefixes,
 * classes, one-line and bounded messages, one buffer per thread. */

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kept_error.h"
#include "rsicam/error.h"
#include "testkit.h"

static const char *const cut = " [...truncated]";

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

START_TEST(test_none_pending)
{
    rsi_error_clear();
    ck_assert_int_eq(rsi_error_pending(), 0);
    ck_assert_str_eq(rsi_error_message(), "");
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_NONE);
}
END_TEST

START_TEST(test_first_message_wins)
{
    rsi_error_clear();
    rsi_error("root cause %d", 1);
    rsi_error("consequence");
    rsi_error_class_set(RSI_ERR_MODEL, "another consequence");
    ck_assert_int_eq(rsi_error_pending(), 1);
    ck_assert_str_eq(rsi_error_message(), "root cause 1");
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_INTERNAL);
}
END_TEST

START_TEST(test_classes)
{
    rsi_error_clear();
    rsi_error_class_set(RSI_ERR_INPUT, "image '%s' is empty", "a.png");
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_INPUT);
    rsi_error_reclass(RSI_ERR_MODEL);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_MODEL);
    ck_assert_str_eq(rsi_error_message(), "image 'a.png' is empty");
    rsi_error_clear();
    rsi_error_reclass(RSI_ERR_MODEL); /* nothing pending: no-op */
    ck_assert_int_eq(rsi_error_pending(), 0);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_NONE);
    /* NONE is not a failure class: such a message is an internal error. */
    rsi_error_class_set(RSI_ERR_NONE, "odd");
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_INTERNAL);
}
END_TEST

START_TEST(test_prefix)
{
    rsi_error_clear();
    rsi_error_prefix("ignored"); /* nothing pending: no-op */
    ck_assert_int_eq(rsi_error_pending(), 0);

    rsi_error_class_set(RSI_ERR_INPUT, "cannot decode");
    rsi_error_prefix("image '%s'", "a.png");
    ck_assert_str_eq(rsi_error_message(), "image 'a.png': cannot decode");
    /* A caller that writes its own separator gets it once. */
    rsi_error_prefix("run %d: ", 3);
    ck_assert_str_eq(rsi_error_message(),
                     "run 3: image 'a.png': cannot decode");
    rsi_error_prefix("batch:");
    ck_assert_str_eq(rsi_error_message(),
                     "batch: run 3: image 'a.png': cannot decode");
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_INPUT);
}
END_TEST

START_TEST(test_clear)
{
    rsi_error("something");
    rsi_error_clear();
    ck_assert_int_eq(rsi_error_pending(), 0);
    ck_assert_str_eq(rsi_error_message(), "");
    rsi_error("next");
    ck_assert_str_eq(rsi_error_message(), "next");
}
END_TEST

START_TEST(test_one_line)
{
    rsi_error_clear();
    rsi_error("libtorch says:\nline two\r\n\tline three\n\n");
    ck_assert_str_eq(rsi_error_message(),
                     "libtorch says: line two   line three");
    rsi_error_prefix("model\n'm.pt'");
    ck_assert_str_eq(rsi_error_message(),
                     "model 'm.pt': libtorch says: line two   line three");
}
END_TEST

START_TEST(test_truncation)
{
    char *big = malloc(5001);
    memset(big, 'x', 5000);
    big[5000] = '\0';
    rsi_error_clear();
    rsi_error("start %s", big);
    const char *m = rsi_error_message();
    ck_assert(strncmp(m, "start xxx", 9) == 0);
    ck_assert(ends_with(m, cut));
    ck_assert_uint_eq(strlen(m), 1024 + strlen(cut));

    /* A prefix keeps its text and cuts the tail. */
    rsi_error_prefix("context");
    m = rsi_error_message();
    ck_assert(strncmp(m, "context: start xxx", 18) == 0);
    ck_assert(ends_with(m, cut));
    ck_assert_uint_eq(strlen(m), 1024 + strlen(cut));

    /* Exactly at the limit: not cut. */
    rsi_error_clear();
    big[1024] = '\0';
    rsi_error("%s", big);
    ck_assert_uint_eq(strlen(rsi_error_message()), 1024);
    ck_assert(!ends_with(rsi_error_message(), cut));
    free(big);
}
END_TEST

static void *other_thread(void *arg)
{
    char *seen = arg;
    /* The main thread's pending message is not visible here. */
    strcpy(seen, rsi_error_pending() ? rsi_error_message() : "(none)");
    rsi_error_class_set(RSI_ERR_OUTPUT, "thread's own");
    if (strcmp(rsi_error_message(), "thread's own") != 0)
        strcpy(seen, "thread lost its own message");
    return NULL;
}

START_TEST(test_thread_local)
{
    rsi_error_clear();
    rsi_error_class_set(RSI_ERR_MODEL, "main's");
    char seen[128] = "";
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, other_thread, seen), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_str_eq(seen, "(none)");
    ck_assert_str_eq(rsi_error_message(), "main's");
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_MODEL);
}
END_TEST

/* A thread's error kept and raised on another: message, class and cut
 * marker whole; nothing kept is "failed"; a pending error wins. */
static void *fail_long(void *arg)
{
    char big[2000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    rsi_error_class_set(RSI_ERR_INPUT, "%s", big);
    rsi_error_keep(arg);
    return rsi_error_pending() ? arg : NULL; /* kept, so cleared */
}

START_TEST(test_kept_error)
{
    rsi_kept_error k;
    pthread_t t;
    void *still = &k;
    ck_assert_int_eq(pthread_create(&t, NULL, fail_long, &k), 0);
    ck_assert_int_eq(pthread_join(t, &still), 0);
    ck_assert_ptr_null(still);
    rsi_error_clear();
    rsi_error_raise(&k);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_INPUT);
    ck_assert(ends_with(rsi_error_message(), cut));
    ck_assert_uint_eq(strlen(rsi_error_message()), 1024 + strlen(cut));

    rsi_error_clear();
    rsi_error_keep(&k);
    rsi_error_raise(&k);
    ck_assert_str_eq(rsi_error_message(), "failed");

    rsi_error_clear();
    rsi_error_class_set(RSI_ERR_MODEL, "first");
    rsi_error_raise(&k);
    ck_assert_str_eq(rsi_error_message(), "first");
    rsi_error_clear();
}
END_TEST

static Suite *error_suite(void)
{
    Suite *s = suite_create("error");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_none_pending);
    tcase_add_test(tc, test_first_message_wins);
    tcase_add_test(tc, test_classes);
    tcase_add_test(tc, test_prefix);
    tcase_add_test(tc, test_clear);
    tcase_add_test(tc, test_one_line);
    tcase_add_test(tc, test_truncation);
    tcase_add_test(tc, test_thread_local);
    tcase_add_test(tc, test_kept_error);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tk_run(error_suite());
}
