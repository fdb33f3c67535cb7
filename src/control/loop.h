/*
 * loop: the controller's epoll loop. The rule: an event handler (a notification, a worker reply, an API request, a
 * tick) only records what happened in the state's `due`; the loop acts on it once per turn, after every event of
 * the turn was handled (ctl_end_turn). No handler runs the decision, signals apps or writes /proc from inside
 * another part's callback.
 */
#ifndef USBD_CONTROL_LOOP_H
#define USBD_CONTROL_LOOP_H

#include <sys/epoll.h>

struct ctl;

/* Runs until SIGTERM/SIGINT (returns 0) or until the app cgroup or the domain disappears (returns -ENOENT). */
int ctl_run(struct ctl *c);
/* Handles one turn's events (as epoll_wait returned them), then ctl_end_turn(). */
void ctl_turn(struct ctl *c, const struct epoll_event *ev, int n);
/* Does what the turn's events asked for (see struct ctl_due); the only caller of the decision. */
void ctl_end_turn(struct ctl *c);

#endif
