#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli/edit.h"

/* Field order on screen: target swap size, grab lower bound, grab upper bound, then [ Confirm ]. */
enum { SWAP = 0, LOWER = 1, UPPER = 2 };

static void type(struct edit_state *st, const char *text)
{
	for (; *text; text++)
		assert_int_equal(edit_key(st, EDIT_KEY_CHAR, *text), EDIT_NONE);
}

static enum edit_action press(struct edit_state *st, enum edit_key key) { return edit_key(st, key, 0); }

static void edit_should_start_on_the_first_field_with_nothing_pending(void **state)
{
	struct edit_state st;

	edit_init(&st);
	assert_int_equal(st.focus, SWAP);
	assert_false(st.editing);
	assert_int_equal(st.pending, 0);
	assert_int_equal(edit_fields[SWAP], TARGET_SWAP_TARGET);
	assert_int_equal(edit_fields[LOWER], TARGET_GRAB_LOWER);
	assert_int_equal(edit_fields[UPPER], TARGET_GRAB_UPPER);
}

static void focus_should_wrap_around_in_both_directions(void **state)
{
	struct edit_state st;

	edit_init(&st);
	press(&st, EDIT_KEY_PREV);
	assert_int_equal(st.focus, EDIT_CONFIRM);
	press(&st, EDIT_KEY_NEXT);
	assert_int_equal(st.focus, SWAP);
	for (int i = 0; i < EDIT_CONFIRM; i++)
		press(&st, EDIT_KEY_NEXT);
	assert_int_equal(st.focus, EDIT_CONFIRM);
}

static void typing_should_edit_and_leaving_should_keep_the_value_pending(void **state)
{
	struct edit_state st;

	edit_init(&st);
	press(&st, EDIT_KEY_NEXT);
	type(&st, "300M");
	assert_true(st.editing);
	assert_string_equal(st.text, "300M");
	assert_int_equal(st.pending, 0);
	press(&st, EDIT_KEY_NEXT);
	assert_false(st.editing);
	assert_int_equal(st.focus, UPPER);
	assert_int_equal(st.pending, 1u << LOWER);
	assert_int_equal(st.value_mib[LOWER], 300);
	assert_string_equal(st.message, "");
}

static void enter_on_a_field_should_keep_the_value_and_move_on(void **state)
{
	struct edit_state st;

	edit_init(&st);
	type(&st, "2G");
	assert_int_equal(press(&st, EDIT_KEY_ENTER), EDIT_NONE);
	assert_int_equal(st.focus, LOWER);
	assert_int_equal(st.value_mib[SWAP], 2048);
	assert_int_equal(st.pending, 1u << SWAP);
}

static void esc_should_cancel_an_edit_and_keep_the_earlier_pending_value(void **state)
{
	struct edit_state st;

	edit_init(&st);
	type(&st, "1G");
	press(&st, EDIT_KEY_NEXT);
	press(&st, EDIT_KEY_PREV);
	type(&st, "5G");
	press(&st, EDIT_KEY_ESC);
	assert_false(st.editing);
	assert_int_equal(st.focus, SWAP);
	assert_int_equal(st.pending, 1u << SWAP);
	assert_int_equal(st.value_mib[SWAP], 1024);
}

static void esc_outside_an_edit_should_drop_the_focused_fields_pending_value(void **state)
{
	struct edit_state st;

	edit_init(&st);
	type(&st, "1G");
	press(&st, EDIT_KEY_NEXT);
	type(&st, "2G");
	press(&st, EDIT_KEY_PREV);
	assert_int_equal(st.pending, (1u << SWAP) | (1u << LOWER));
	press(&st, EDIT_KEY_ESC);
	assert_int_equal(st.pending, 1u << LOWER);
}

static void a_bad_size_should_keep_focus_and_say_why(void **state)
{
	struct edit_state st;

	edit_init(&st);
	press(&st, EDIT_KEY_NEXT);
	type(&st, "1536K");
	press(&st, EDIT_KEY_NEXT);
	assert_int_equal(st.focus, LOWER);
	assert_true(st.editing);
	assert_int_equal(st.pending, 0);
	assert_string_equal(st.message, "grab-lower: '1536K' is not a whole number of MiB");
	press(&st, EDIT_KEY_BACKSPACE);
	type(&st, "M");
	assert_string_equal(st.text, "1536M");
	press(&st, EDIT_KEY_ENTER);
	assert_string_equal(st.message, "");
	assert_int_equal(st.value_mib[LOWER], 1536);

	press(&st, EDIT_KEY_PREV);
	type(&st, "GG");
	press(&st, EDIT_KEY_ENTER);
	assert_string_equal(st.message, "grab-lower: 'GG' is not a size");
	assert_int_equal(st.value_mib[LOWER], 1536);
}

static void characters_that_cannot_be_in_a_size_should_be_ignored(void **state)
{
	struct edit_state st;

	edit_init(&st);
	type(&st, "x-. q");
	assert_false(st.editing);
	type(&st, "4x");
	assert_string_equal(st.text, "4");
	assert_int_equal(edit_key(&st, EDIT_KEY_CHAR, 0x80 + 'G'), EDIT_NONE);
	assert_string_equal(st.text, "4");
}

static void the_typed_text_should_stop_at_its_limit(void **state)
{
	struct edit_state st;

	edit_init(&st);
	for (int i = 0; i < EDIT_TEXT_MAX + 10; i++)
		edit_key(&st, EDIT_KEY_CHAR, '1');
	assert_int_equal(st.text_len, EDIT_TEXT_MAX);
	assert_int_equal(strlen(st.text), EDIT_TEXT_MAX);
}

static void erasing_all_text_should_leave_the_field_unchanged(void **state)
{
	struct edit_state st;

	edit_init(&st);
	type(&st, "12");
	press(&st, EDIT_KEY_BACKSPACE);
	press(&st, EDIT_KEY_BACKSPACE);
	press(&st, EDIT_KEY_BACKSPACE);
	press(&st, EDIT_KEY_NEXT);
	assert_int_equal(st.focus, LOWER);
	assert_int_equal(st.pending, 0);
	assert_string_equal(st.message, "");
}

static void confirm_without_pending_values_should_not_send(void **state)
{
	struct edit_state st;

	edit_init(&st);
	press(&st, EDIT_KEY_PREV);
	type(&st, "5G");
	assert_false(st.editing);
	assert_int_equal(press(&st, EDIT_KEY_ENTER), EDIT_NONE);
	assert_string_equal(st.message, "nothing to confirm: type a size into a field first");
}

static void confirm_should_send_exactly_the_pending_fields(void **state)
{
	struct edit_state st;
	struct target_patch patch;

	edit_init(&st);
	press(&st, EDIT_KEY_NEXT);
	type(&st, "300M");
	press(&st, EDIT_KEY_NEXT);
	type(&st, "1T");
	press(&st, EDIT_KEY_NEXT);
	assert_int_equal(st.focus, EDIT_CONFIRM);
	assert_int_equal(press(&st, EDIT_KEY_ENTER), EDIT_SEND);
	edit_patch(&st, &patch);
	assert_int_equal(patch.mask, (1u << TARGET_GRAB_LOWER) | (1u << TARGET_GRAB_UPPER));
	assert_int_equal(patch.mib[TARGET_GRAB_LOWER], 300);
	assert_int_equal(patch.mib[TARGET_GRAB_UPPER], 1024 * 1024);
}

static void a_refused_send_should_keep_the_values_and_show_the_fault(void **state)
{
	struct edit_state st;

	edit_init(&st);
	press(&st, EDIT_KEY_NEXT);
	type(&st, "9G");
	press(&st, EDIT_KEY_ENTER);
	press(&st, EDIT_KEY_NEXT);
	assert_int_equal(press(&st, EDIT_KEY_ENTER), EDIT_SEND);
	edit_sent(&st, false, "grab_lower_mib must not exceed grab_upper_mib");
	assert_string_equal(st.message, "refused: grab_lower_mib must not exceed grab_upper_mib");
	assert_int_equal(st.pending, 1u << LOWER);
	edit_sent(&st, true, NULL);
	assert_string_equal(st.message, "targets updated");
	assert_int_equal(st.pending, 0);
}

static void the_next_key_should_clear_the_message(void **state)
{
	struct edit_state st;

	edit_init(&st);
	edit_sent(&st, true, NULL);
	press(&st, EDIT_KEY_NEXT);
	assert_string_equal(st.message, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(edit_should_start_on_the_first_field_with_nothing_pending),
		cmocka_unit_test(focus_should_wrap_around_in_both_directions),
		cmocka_unit_test(typing_should_edit_and_leaving_should_keep_the_value_pending),
		cmocka_unit_test(enter_on_a_field_should_keep_the_value_and_move_on),
		cmocka_unit_test(esc_should_cancel_an_edit_and_keep_the_earlier_pending_value),
		cmocka_unit_test(esc_outside_an_edit_should_drop_the_focused_fields_pending_value),
		cmocka_unit_test(a_bad_size_should_keep_focus_and_say_why),
		cmocka_unit_test(characters_that_cannot_be_in_a_size_should_be_ignored),
		cmocka_unit_test(the_typed_text_should_stop_at_its_limit),
		cmocka_unit_test(erasing_all_text_should_leave_the_field_unchanged),
		cmocka_unit_test(confirm_without_pending_values_should_not_send),
		cmocka_unit_test(confirm_should_send_exactly_the_pending_fields),
		cmocka_unit_test(a_refused_send_should_keep_the_values_and_show_the_fault),
		cmocka_unit_test(the_next_key_should_clear_the_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
