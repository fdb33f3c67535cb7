/* Unit tests of src/sys/listen: real sockets in a temporary directory (no root needed). */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/vm_sockets.h>
#include <sys/syscall.h>
#include <cmocka.h>

#include "sys/listen.h"
#include "test_sys_tree.h"

struct fx {
	char dir[PATH_MAX];
	char path[PATH_MAX * 2];
	struct listen_opts o;
};

static int setup(void **state)
{
	static struct fx fx;

	if (tree_make(fx.dir))
		return -1;
	chmod(fx.dir, 0755);
	snprintf(fx.path, sizeof(fx.path), "%s/s.sock", fx.dir);
	fx.o = (struct listen_opts){ .type = SOCK_SEQPACKET, .mode = 0666, .uid = geteuid(), .gid = (gid_t)-1,
				     .backlog = 4 };
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	tree_remove(fx->dir);
	return 0;
}

static int connect_to(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static void listen_unix_should_make_the_socket_with_its_mode_and_take_peers(void **state)
{
	struct fx *fx = *state;
	struct stat id, st;
	struct ucred cred;
	int lfd = listen_unix(fx->path, &fx->o, &id), cfd, afd;

	assert_true(lfd >= 0);
	assert_int_equal(lstat(fx->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0666);
	assert_true(st.st_ino == id.st_ino);
	cfd = connect_to(fx->path, SOCK_SEQPACKET);
	assert_true(cfd >= 0);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(listen_peer_cred(afd, &cred), 0);
	assert_int_equal(cred.pid, getpid());
	assert_int_equal(cred.uid, geteuid());
	close(afd);
	close(cfd);
	close(lfd);
	listen_remove(fx->path, &id);
	assert_int_equal(access(fx->path, F_OK), -1);
}

static void listen_unix_should_refuse_a_live_server_and_replace_a_stale_socket(void **state)
{
	struct fx *fx = *state;
	struct stat id, id2;
	int lfd = listen_unix(fx->path, &fx->o, &id), lfd2;

	assert_true(lfd >= 0);
	assert_int_equal(listen_unix(fx->path, &fx->o, &id2), -EADDRINUSE);
	close(lfd); /* the file stays: a stale socket */
	lfd2 = listen_unix(fx->path, &fx->o, &id2);
	assert_true(lfd2 >= 0);
	close(lfd2);
	listen_remove(fx->path, &id2);
}

static void listen_unix_should_leave_a_file_or_a_symlink_alone(void **state)
{
	struct fx *fx = *state;
	char target[PATH_MAX * 2], buf[16];
	struct stat id;

	assert_int_equal(tree_put(fx->dir, "s.sock", "keep"), 0);
	assert_int_equal(listen_unix(fx->path, &fx->o, &id), -EEXIST);
	assert_int_equal(tree_get(fx->dir, "s.sock", buf, sizeof(buf)), 4);
	unlink(fx->path);
	snprintf(target, sizeof(target), "%s/target", fx->dir);
	assert_int_equal(tree_put(fx->dir, "target", "t"), 0);
	assert_int_equal(chmod(target, 0600), 0);
	assert_int_equal(symlink(target, fx->path), 0);
	assert_int_equal(listen_unix(fx->path, &fx->o, &id), -EEXIST);
	assert_int_equal(readlink(fx->path, buf, sizeof(buf)) > 0, 1);
	assert_int_equal(stat(target, &id), 0);
	assert_int_equal(id.st_mode & 0777, 0600);
}

static void listen_unix_should_refuse_a_directory_others_may_write_to(void **state)
{
	struct fx *fx = *state;
	struct stat id;

	assert_int_equal(chmod(fx->dir, 01777), 0);
	assert_int_equal(listen_unix(fx->path, &fx->o, &id), -EPERM);
	assert_int_equal(chmod(fx->dir, 0775), 0);
	assert_int_equal(listen_unix(fx->path, &fx->o, &id), -EPERM);
	assert_int_equal(access(fx->path, F_OK), -1);
}

static void listen_unix_should_make_a_missing_directory_0755(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX * 3], dir[PATH_MAX * 2];
	struct stat id, st;
	int lfd;

	snprintf(dir, sizeof(dir), "%s/run", fx->dir);
	snprintf(path, sizeof(path), "%s/a.sock", dir);
	lfd = listen_owned(path, geteuid(), false, 0, 4, &id);
	assert_true(lfd >= 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	close(lfd);
	listen_remove(path, &id);
	rmdir(dir);
}

static void listen_remove_should_leave_what_replaced_the_socket(void **state)
{
	struct fx *fx = *state;
	char buf[16];
	struct stat id;
	int lfd = listen_unix(fx->path, &fx->o, &id);

	assert_true(lfd >= 0);
	close(lfd);
	unlink(fx->path);
	assert_int_equal(tree_put(fx->dir, "s.sock", "other"), 0);
	listen_remove(fx->path, &id);
	assert_int_equal(tree_get(fx->dir, "s.sock", buf, sizeof(buf)), 5);
}

static void listen_unix_should_refuse_a_path_too_long_or_without_a_name(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX * 2];
	struct stat id;

	memset(path, 'a', 199);
	path[0] = '/';
	path[199] = '\0';
	assert_int_equal(listen_unix(path, &fx->o, &id), -ENAMETOOLONG);
	snprintf(path, sizeof(path), "%s/", fx->dir);
	assert_int_equal(listen_unix(path, &fx->o, &id), -EINVAL);
}

/* A vsock port in the dynamic range nothing else here uses; the test takes it twice. */
#define TEST_VSOCK_PORT 0x7e5b0

static void listen_vsock_should_refuse_a_port_taken(void **state)
{
	int fd = listen_vsock(TEST_VSOCK_PORT, 4), again;

	if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL)
		skip();	/* no vsock here: the refusal below is covered by the next test */
	assert_true(fd >= 0);
	again = listen_vsock(TEST_VSOCK_PORT, 4);
	assert_int_equal(again, -EADDRINUSE);
	close(fd);
}

/* The kernel without vsock, as a seccomp filter shows it to a child: socket(AF_VSOCK) fails with EAFNOSUPPORT. */
static void deny_vsock(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_VSOCK, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAFNOSUPPORT),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		_exit(2);
}

static void listen_vsock_should_report_a_kernel_without_vsock(void **state)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		deny_vsock();
		_exit(listen_vsock(TEST_VSOCK_PORT, 4) == -EAFNOSUPPORT ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void listen_peer_cid_should_refuse_a_unix_socket(void **state)
{
	int sv[2];
	unsigned int cid = 7;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(listen_peer_cid(sv[0], &cid), -EAFNOSUPPORT);
	assert_int_equal(cid, 7);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(listen_vsock_should_refuse_a_port_taken),
		cmocka_unit_test(listen_vsock_should_report_a_kernel_without_vsock),
		cmocka_unit_test(listen_peer_cid_should_refuse_a_unix_socket),
		cmocka_unit_test_setup_teardown(listen_unix_should_make_the_socket_with_its_mode_and_take_peers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(listen_unix_should_refuse_a_live_server_and_replace_a_stale_socket,
						setup, teardown),
		cmocka_unit_test_setup_teardown(listen_unix_should_leave_a_file_or_a_symlink_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(listen_unix_should_refuse_a_directory_others_may_write_to, setup,
						teardown),
		cmocka_unit_test_setup_teardown(listen_unix_should_make_a_missing_directory_0755, setup, teardown),
		cmocka_unit_test_setup_teardown(listen_remove_should_leave_what_replaced_the_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(listen_unix_should_refuse_a_path_too_long_or_without_a_name, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
