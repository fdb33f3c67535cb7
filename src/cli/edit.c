#include "cli/edit.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

const enum target_field edit_fields[EDIT_FIELDS] = { TARGET_SWAP_TARGET, TARGET_GRAB_LOWER, TARGET_GRAB_UPPER };

void edit_init(struct edit_state *st)
{
	*st = (struct edit_state){ 0 };
}

static void drop_edit(struct edit_state *st)
{
	st->editing = false;
	st->text_len = 0;
	st->text[0] = '\0';
}

/* Turns the typed text into a pending value. Returns false (and explains) when it is not a valid size. */
static bool commit_edit(struct edit_state *st)
{
	uint64_t mib;
	int rc;

	if (!st->editing)
		return true;
	if (!st->text_len) {
		/* Erasing everything means "never mind", like Esc. */
		drop_edit(st);
		return true;
	}
	rc = target_size_mib(st->text, &mib);
	if (rc) {
		snprintf(st->message, sizeof(st->message), "%s: '%s' is %s", target_descs[edit_fields[st->focus]].flag,
			 st->text, target_size_error(rc));
		return false;
	}
	st->value_mib[st->focus] = mib;
	st->pending |= 1u << st->focus;
	drop_edit(st);
	return true;
}

static void move(struct edit_state *st, int step)
{
	if (commit_edit(st))
		st->focus = (st->focus + step + EDIT_CONFIRM + 1) % (EDIT_CONFIRM + 1);
}

/* Sizes are digits and the suffix letters of size_parse: anything else cannot be part of one. */
static bool size_char(int ch)
{
	return isdigit(ch) || (ch > 0 && ch < 128 && strchr("kKmMgGtTiIbB", ch));
}

static enum edit_action press_enter(struct edit_state *st)
{
	if (st->focus != EDIT_CONFIRM) {
		move(st, 1);
		return EDIT_NONE;
	}
	if (!st->pending) {
		snprintf(st->message, sizeof(st->message), "nothing to confirm: type a size into a field first");
		return EDIT_NONE;
	}
	return EDIT_SEND;
}

enum edit_action edit_key(struct edit_state *st, enum edit_key key, int ch)
{
	st->message[0] = '\0';
	switch (key) {
	case EDIT_KEY_NEXT:
		move(st, 1);
		break;
	case EDIT_KEY_PREV:
		move(st, -1);
		break;
	case EDIT_KEY_ENTER:
		return press_enter(st);
	case EDIT_KEY_ESC:
		if (st->editing)
			drop_edit(st);
		else if (st->focus < EDIT_FIELDS)
			st->pending &= ~(1u << st->focus);
		break;
	case EDIT_KEY_BACKSPACE:
		if (st->editing && st->text_len)
			st->text[--st->text_len] = '\0';
		break;
	case EDIT_KEY_CHAR:
		if (st->focus == EDIT_CONFIRM || !size_char(ch))
			break;
		if (!st->editing) {
			st->editing = true;
			st->text_len = 0;
		}
		if (st->text_len < EDIT_TEXT_MAX) {
			st->text[st->text_len++] = (char)ch;
			st->text[st->text_len] = '\0';
		}
		break;
	}
	return EDIT_NONE;
}

void edit_patch(const struct edit_state *st, struct target_patch *patch)
{
	*patch = (struct target_patch){ 0 };
	for (int i = 0; i < EDIT_FIELDS; i++) {
		if (st->pending & (1u << i)) {
			patch->mask |= 1u << edit_fields[i];
			patch->mib[edit_fields[i]] = st->value_mib[i];
		}
	}
}

void edit_sent(struct edit_state *st, bool ok, const char *fault)
{
	if (ok) {
		st->pending = 0;
		snprintf(st->message, sizeof(st->message), "targets updated");
	} else {
		snprintf(st->message, sizeof(st->message), "refused: %s", fault);
	}
}
