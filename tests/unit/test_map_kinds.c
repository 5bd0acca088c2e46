/* The table of map kinds (map_kinds.h): the names and bits that records,
 * files, experiments and the command already use must stay as they are,
 * and every row must be consistent with the rules the readers rely on. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "map_kinds.h"
#include "testkit.h"

START_TEST(kinds_in_record_order)
{
    static const char *const want[] = {"rsi-relu", "rsi-guided", "rsi-plain",
                                       "gradcam"};
    ck_assert_int_eq(rsi_map_kind_count(), 4);
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(rsi_map_kind_at(i)->name, want[i]);
    ck_assert_ptr_null(rsi_map_kind_at(4));
    ck_assert_ptr_eq(rsi_map_kind_find("rsi-plain"), rsi_map_kind_at(2));
    ck_assert_ptr_null(rsi_map_kind_find("rsi"));
}
END_TEST

/* A row's name is its method and variant joined, and a row with a
 * variant integrates (the variants are the sums' reductions). */
START_TEST(rows_agree_with_their_names)
{
    for (int i = 0; i < rsi_map_kind_count(); i++) {
        const rsi_map_kind *k = rsi_map_kind_at(i);
        char name[64];
        rsi_map_kind_join(k->method, k->variant, name, sizeof name);
        ck_assert_str_eq(name, k->name);
        ck_assert_ptr_nonnull(k->cam);
        ck_assert(*k->doc);
        ck_assert(!k->uses_relu_sum || k->integrates);
    }
}
END_TEST

START_TEST(methods_and_variants_in_bit_order)
{
    const char *names[RSI_MAP_KINDS_MAX];
    ck_assert_int_eq(rsi_map_methods(names), 2);
    ck_assert_str_eq(names[0], "rsi");
    ck_assert_str_eq(names[1], "gradcam");
    ck_assert_int_eq(rsi_map_variants(names), 3);
    ck_assert_str_eq(names[0], "relu");
    ck_assert_str_eq(names[1], "guided");
    ck_assert_str_eq(names[2], "plain");
    ck_assert_int_eq(rsi_map_method_bit("gradcam"), 2);
    ck_assert_int_eq(rsi_map_variant_bit("plain"), 4);
    ck_assert_int_eq(rsi_map_variant_bit(""), 0);
    ck_assert_int_eq(rsi_map_method_alias("rsi"), 0);
    ck_assert_int_eq(rsi_map_method_alias("gradcam"), -1);
}
END_TEST

START_TEST(bit_sets_choose_kinds)
{
    /* rsi with relu and plain; gradcam needs no variant */
    ck_assert_int_eq(rsi_map_kinds_chosen(1, 5), 2);
    ck_assert_int_eq(rsi_map_kinds_chosen(3, 7), 4);
    ck_assert_int_eq(rsi_map_kinds_chosen(2, 0), 1);
    ck_assert(rsi_map_kind_chosen(rsi_map_kind_at(3), 2, 0));
    ck_assert(!rsi_map_kind_chosen(rsi_map_kind_at(1), 1, 5));
    ck_assert(rsi_map_kinds_integrate(1, 2));
    ck_assert(!rsi_map_kinds_integrate(2, 7));
    ck_assert(rsi_map_kinds_use_relu_sum(1, 1));
    ck_assert(!rsi_map_kinds_use_relu_sum(3, 6));
    ck_assert(rsi_map_kinds_cover(3, 1));
    ck_assert(!rsi_map_kinds_cover(1, 0)); /* rsi without a variant */
    ck_assert(rsi_map_kinds_cover(2, 0));
}
END_TEST

START_TEST(score_kinds_by_enum)
{
    ck_assert_str_eq(rsi_score_kind_name(RSI_SCORE_SOFTMAX), "softmax");
    ck_assert_str_eq(rsi_score_kind_name(RSI_SCORE_LOGIT), "logit");
    ck_assert_str_eq(rsi_score_kind_name((rsi_score_kind)RSI_SCORE_KINDS), "?");
    ck_assert_str_eq(rsi_score_kind_names()[1], "logit");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("map_kinds");
    TCase *tc = tcase_create("map_kinds");
    tcase_add_test(tc, kinds_in_record_order);
    tcase_add_test(tc, rows_agree_with_their_names);
    tcase_add_test(tc, methods_and_variants_in_bit_order);
    tcase_add_test(tc, bit_sets_choose_kinds);
    tcase_add_test(tc, score_kinds_by_enum);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
