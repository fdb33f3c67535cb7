/*
 * config: usbd's configuration file (--config-file, docs/USAGE.md "Configuration file"), JSON in Firecracker's shape
 * for the balloon plus usbd's own section for every option of the command line:
 *   { "balloon": { "amount_mib": 512, "deflate_on_oom": true, "stats_polling_interval_s": 5,
 *                  "free_page_hinting": false, "free_page_reporting": false },
 *     "usbd": { "app": "prod/app", "domain": "prod", "grab_lower": "4G", "headroom": 512, "tick_ms": 100, ... } }
 * Sizes are MiB numbers or size strings ("4G"). balloon.amount_mib sets both grab bounds, as PUT /balloon does.
 * Its targets land in options.config_targets, not in the flags' fields: the controller layers them under the state
 * file and the command line and checks the result with targets_update() like every other door (policy/targets.h).
 * config_parse is pure (text in, options out); config_load reads the file.
 */
#ifndef USBD_CONTROL_CONFIG_H
#define USBD_CONTROL_CONFIG_H

#include <stddef.h>

#include "control/options.h"

/* Keeps the parsed document alive: the strings config_parse stores in struct options point into it. */
struct config_hold {
	void *doc;
};

/*
 * Applies the configuration in text[0..len) to *o (which holds the defaults, or earlier values). Returns 0, or
 * -EINVAL with a message in err naming the key ("config: usbd.tick_ms must be ..."): an unknown key, a duplicate
 * key, a wrong type or a bad value; *o is then unchanged and hold holds nothing. On success release hold with
 * config_release once the strings in *o are no longer used.
 */
int config_parse(const char *text, size_t len, struct options *o, struct config_hold *hold, char *err, size_t errlen);

/* Reads path (at most 1 MiB) and config_parse()s it; the messages start with the path. */
int config_load(const char *path, struct options *o, struct config_hold *hold, char *err, size_t errlen);

void config_release(struct config_hold *hold);

#endif
