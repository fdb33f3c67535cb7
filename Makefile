# A thin front end to CMake; scripts/ hold the real steps.
FUZZ_SECONDS ?= 60

.PHONY: all test demo asan fuzz bench clean
all:
	scripts/build.sh build
test:
	scripts/test.sh
demo:
	scripts/demo.sh
asan:
	scripts/build.sh build-asan -DUSBD_SANITIZE=ON -DCMAKE_C_COMPILER=clang
	ctest --test-dir build-asan --output-on-failure
# Builds the libFuzzer targets with clang and runs each for FUZZ_SECONDS on a copy of its seed corpus.
fuzz:
	scripts/build.sh build-fuzz -DUSBD_FUZZ=ON -DCMAKE_C_COMPILER=clang
	scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)
bench: all
	build/bench/bench_balloon
	bench/bench_core.sh
clean:
	rm -rf build build-asan build-fuzz
