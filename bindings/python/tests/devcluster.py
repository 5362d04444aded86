# SPDX-License-Identifier: Apache-2.0
# tests/devcluster.py: what the binding tests need from the dev cluster
# (ceph-dev): its env file's settings, Glance calls with the admin
# headers, and RBD disks made and removed with the admin key.
import json
import os
import subprocess
import urllib.error
import urllib.request

ENV = os.environ


def glance(method, path, body=None, headers=None, raw=None):
    url = ENV["FASTSNAP_GLANCE_URL"] + path
    h = {}
    for item in ENV["FASTSNAP_GLANCE_HEADERS"].split("|"):
        if item.strip():
            k, v = item.split(":", 1)
            h[k.strip()] = v.strip()
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    if raw is not None:
        data = raw
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    with urllib.request.urlopen(req, timeout=60) as resp:
        out = resp.read()
        return json.loads(out) if out else None


def image(image_id):
    try:
        return glance("GET", "/v2/images/" + image_id)
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def images_named(name):
    return glance("GET", "/v2/images?name=" + name)["images"]


def delete_image(image_id):
    try:
        glance("DELETE", "/v2/images/" + image_id)
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise


def rbd(*args, check=True):
    cmd = ["rbd", "-c", ENV["CEPH_CONF"], "--id", "admin", "--keyring",
           ENV["FASTSNAP_DEV_ADMIN_KEYRING"]] + list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True).stdout


def make_disk(name, size_mb=8, data_mb=2):
    spec = "vms/" + name
    rbd("create", "--size", "%dM" % size_mb, spec)
    rbd("bench", "--io-type", "write", "--io-size", "1M", "--io-total", "%dM" % data_mb, spec)
    return spec


def remove_disk(spec):
    rbd("snap", "purge", spec, check=False)
    rbd("rm", spec, check=False)


def snapshots(spec):
    out = rbd("snap", "ls", "--all", "--format", "json", spec)
    return [s["name"] for s in json.loads(out or "[]")]


def make_base_image(name, store, size=4 << 20):
    """A raw image uploaded into `store` (in an rbd store it gets an rbd:// location)."""
    img = glance("POST", "/v2/images", {"name": name, "disk_format": "raw", "container_format": "bare"})
    glance("PUT", "/v2/images/%s/file" % img["id"], raw=os.urandom(size),
           headers={"Content-Type": "application/octet-stream", "x-image-meta-store": store})
    return img["id"]
