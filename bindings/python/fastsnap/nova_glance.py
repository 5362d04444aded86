# SPDX-License-Identifier: Apache-2.0
# fastsnap/nova_glance.py: on Nova 31 only, Nova's Glance client registers
# a snapshot's location with POST /v2/images/{id}/locations (Glance >= 29,
# API 2.17), falling back to Nova 31's own PATCH when Glance or glanceclient
# does not have it, as Nova 32 does (docs/nova.md, "Location registration").
# Nova 31 PATCHes only, which Glance with show_multiple_locations = False
# refuses (403, raised by Nova as ImageNotAuthorized: no fallback).
"""Nova 31's GlanceImageServiceV2._add_location, done as Nova 32 does it."""
import logging

LOG = logging.getLogger("fastsnap.nova")

_ORIGINAL = None


def _add_location(self, context, image_id, location):
    """POST the location (its service token, if [service_user]
    send_service_user_token is set, is the one Nova's Glance session sends
    already: Glance needs the `service` role for an rbd:// URL); on
    HTTPNotImplemented (no API 2.17) Nova 31's own PATCH."""
    import glanceclient.exc
    from nova.image import glance
    try:
        return self._client.call(context, 2, "add_image_location",
                                 args=(image_id, location, {}))
    except glanceclient.exc.HTTPNotImplemented:
        LOG.debug("Glance has no location POST: PATCH for %s", image_id)
        return _ORIGINAL(self, context, image_id, location)
    except glanceclient.exc.HTTPBadRequest:
        glance._reraise_translated_exception()


def install():
    """Replace GlanceImageServiceV2._add_location (idempotent)."""
    global _ORIGINAL
    from nova.image import glance
    cls = glance.GlanceImageServiceV2
    if cls._add_location is _add_location:
        return
    from glanceclient.v2 import images
    if not hasattr(images.Controller, "add_image_location"):
        LOG.warning("python3-glanceclient has no add_image_location (< 4.7): Nova's "
                    "location PATCH stays")
        return
    _ORIGINAL = cls._add_location
    cls._add_location = _add_location


def uninstall():
    """Put Nova's own _add_location back (tests)."""
    global _ORIGINAL
    from nova.image import glance
    if _ORIGINAL is not None:
        glance.GlanceImageServiceV2._add_location = _ORIGINAL
        _ORIGINAL = None
