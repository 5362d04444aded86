# SPDX-License-Identifier: Apache-2.0
# fastsnap/nova_compute.py: the fastsnap-nova-compute command: Nova's own
# nova-compute (nova.cmd.compute.main) with fastsnap's Rbd image backend
# installed right after Nova has read its configuration, unless nova.conf
# says [fastsnap] enabled = false. An unknown Nova release is refused
# before the service starts (docs/nova.md, "Turning it on and off").
"""fastsnap-nova-compute: nova-compute with fastsnap's direct snapshot."""
import sys


def main():
    # nova.cmd's import monkey-patches for eventlet, as nova-compute does
    from nova.cmd import compute
    from . import nova as fs_nova

    fs_nova.register_opts(compute.CONF)
    parse_args = compute.config.parse_args

    def parse_args_then_install(argv, *args, **kw):
        r = parse_args(argv, *args, **kw)
        try:
            fs_nova.install(compute.CONF)
        except RuntimeError as e:
            sys.stderr.write("fastsnap-nova-compute: %s\n" % e)
            sys.exit(1)
        return r

    compute.config.parse_args = parse_args_then_install
    return compute.main()


if __name__ == "__main__":
    sys.exit(main())
