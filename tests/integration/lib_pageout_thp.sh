#!/usr/bin/env bash
# libusbd end to end with MADV_HUGEPAGE memory: lib_pageout.sh --huge (the tracker pages out whole 2 MiB blocks).
exec bash "$(dirname "$0")/lib_pageout.sh" --huge
