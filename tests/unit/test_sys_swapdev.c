/* swapdev_judge: which /proc/swaps can take huge pages whole (a non-rotational block device), and why not. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sys/swapdev.h"

#define HEAD "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"

/* zram devices and /dev/nvme* are non-rotational here, /dev/sd* rotational, anything else unknown. */
static int fake_nonrot(const char *dev)
{
	if (strncmp(dev, "/dev/zram", 9) == 0 || strncmp(dev, "/dev/nvme", 9) == 0)
		return 1;
	if (strncmp(dev, "/dev/sd", 7) == 0)
		return 0;
	return -ENOENT;
}

static void a_swap_file_alone_cannot(void **state)
{
	char why[256];

	assert_int_equal(swapdev_judge(HEAD "/var/tmp/my\\040swap\tfile\t\t1048572\t\t0\t\t-2\n", fake_nonrot, why,
				       sizeof(why)), 0);
	assert_string_equal(why, "/var/tmp/my swap is a swap file");
}

static void zram_beside_a_file_can(void **state)
{
	char why[256];

	assert_int_equal(swapdev_judge(HEAD "/swapfile\tfile\t\t1048572\t\t0\t\t-2\n"
					    "/dev/zram3\tpartition\t\t262140\t\t0\t\t5\n",
				       fake_nonrot, why, sizeof(why)),
			 1);
	assert_string_equal(why, "/dev/zram3 is a non-rotational block device");
}

static void a_rotational_disk_or_no_swap_cannot(void **state)
{
	char why[256];

	assert_int_equal(swapdev_judge(HEAD "/dev/sda2\tpartition\t1048572\t0\t-2\n", fake_nonrot, why, sizeof(why)),
			 0);
	assert_string_equal(why, "/dev/sda2 is a rotational disk");
	assert_int_equal(swapdev_judge(HEAD "/dev/mapper/x\tpartition\t1048572\t0\t-2\n", fake_nonrot, why,
				       sizeof(why)),
			 0);
	assert_string_equal(why, "/dev/mapper/x is a block device of unknown kind");
	assert_int_equal(swapdev_judge(HEAD, fake_nonrot, why, sizeof(why)), 0);
	assert_string_equal(why, "no swap");
}

static void text_that_is_not_proc_swaps_is_refused(void **state)
{
	char why[64];

	assert_int_equal(swapdev_judge("", fake_nonrot, why, sizeof(why)), -EINVAL);
	assert_int_equal(swapdev_judge("garbage\n", fake_nonrot, why, sizeof(why)), -EINVAL);
	assert_int_equal(swapdev_judge(HEAD "lonely\n", fake_nonrot, why, sizeof(why)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_swap_file_alone_cannot),
		cmocka_unit_test(zram_beside_a_file_can),
		cmocka_unit_test(a_rotational_disk_or_no_swap_cannot),
		cmocka_unit_test(text_that_is_not_proc_swaps_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
