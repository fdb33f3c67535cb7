/*
 * edit: the editing state machine of `usbdctl top`, apart from curses so that it can be tested alone.
 * Three fields (target swap size, grab lower bound, grab upper bound) and a Confirm button form a ring that
 * NEXT/PREV move through. Typing into a field starts an edit; leaving the field (NEXT, PREV, ENTER) keeps a
 * valid size as a pending value; ESC drops the edit, or, when not editing, the focused field's pending value.
 * ENTER on Confirm asks for the pending values to be sent.
 */
#ifndef USBD_CLI_EDIT_H
#define USBD_CLI_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/targets.h"

#define EDIT_FIELDS 3
#define EDIT_CONFIRM EDIT_FIELDS	/* the focus index of the Confirm button */
#define EDIT_TEXT_MAX 20

enum edit_key {
	EDIT_KEY_NEXT,		/* Tab, Down, Right */
	EDIT_KEY_PREV,		/* Shift-Tab, Up, Left */
	EDIT_KEY_ENTER,
	EDIT_KEY_ESC,
	EDIT_KEY_BACKSPACE,
	EDIT_KEY_CHAR,		/* a printable character, passed alongside */
};

enum edit_action {
	EDIT_NONE,
	EDIT_SEND,		/* the caller sends edit_patch() and reports the outcome with edit_sent() */
};

struct edit_state {
	int focus;				/* 0..EDIT_FIELDS-1: a field; EDIT_CONFIRM: the button */
	bool editing;				/* text is being typed into the focused field */
	char text[EDIT_TEXT_MAX + 1];
	size_t text_len;
	unsigned pending;			/* bit i: value_mib[i] was entered and not yet confirmed */
	uint64_t value_mib[EDIT_FIELDS];
	char message[160];			/* what the last key or send led to, for the status line, or "" */
};

/* The target each field edits, in display order. */
extern const enum target_field edit_fields[EDIT_FIELDS];

void edit_init(struct edit_state *st);

/* Applies one key (ch is the character for EDIT_KEY_CHAR). Returns EDIT_SEND when Confirm was pressed with
 * values pending, else EDIT_NONE. Sets st->message to explain refusals (a bad size, nothing to confirm). */
enum edit_action edit_key(struct edit_state *st, enum edit_key key, int ch);

/* Fills *patch with the pending values. */
void edit_patch(const struct edit_state *st, struct target_patch *patch);

/* Records the outcome of a send: ok clears the pending values; otherwise they stay and `fault` is shown. */
void edit_sent(struct edit_state *st, bool ok, const char *fault);

#endif
