#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# tests/nova/bench.py: stock Nova 31 vs fastsnap's backend through Nova's own
# LibvirtDriver.snapshot() (the contract test's set-up, tests/nova/contract.py),
# on disks of 1 and 8 GiB half written: seconds from the call to an active
# image. Both register through the second glance-api with
# show_multiple_locations = True (stock Nova 31 fails otherwise). Results
# go to docs/benchmarks.md ("Nova"). Run by `tests/nova/run --bench`.
import sys
import time

import contract as c

GiB = 1 << 30


def main():
    c.setUpModule()
    try:
        c.CONF.set_override("api_servers", [c.ENV["FASTSNAP_NOVA_GLANCE_MULTI"]], "glance")
        for gib in [int(a) for a in sys.argv[1:]] or (1, 8):
            t0 = time.monotonic()
            inst, name = c.make_disk(size=gib * GiB, written=gib * GiB // 2)
            print("disk %d GiB, %d MiB written in %.1f s" % (gib, gib * 512, time.monotonic() - t0),
                  flush=True)
            for label, backend in (("stock", c.Backends.stock), ("fastsnap", c.Backends.fastsnap)):
                backend()
                image_id = c.queued_image()
                t0 = time.monotonic()
                c.nova_snapshot(c.instance(inst), image_id)
                t1 = time.monotonic()
                c.wait_active(image_id, timeout=1800)
                t2 = time.monotonic()
                print("nova %d GiB %-8s snapshot() %.1f s, active after %.1f s" % (
                    gib, label, t1 - t0, t2 - t0), flush=True)
                c.delete_image(image_id)
            c.C.remove("vms", name)
    finally:
        c.Backends.stock()
        c.tearDownModule()


if __name__ == "__main__":
    main()
