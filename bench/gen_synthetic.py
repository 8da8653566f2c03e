#!/usr/bin/env python3
"""Generate a synthetic image with many small files for the benchmarks.

Writes OUTPUT/oci (OCI image layout, gzip layers) and
OUTPUT/docker-archive.tar (uncompressed layers) for the same image, so
every tool reads identical file trees.

The content is deterministic for a given --files, --layers and --seed:
layer N contains files/layers entries under /data/lNN/, 500 to a
directory, nearly all regular files of 0 to 1023 bytes. Besides plain files, each layer adds the cases
an audit has to notice, about one per thousand files: setuid and setgid
executables, world-writable files and directories, symlinks and hardlinks.
Every layer after the first also deletes files of the layer before it with
whiteouts and replaces one directory with an opaque whiteout.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tarfile

FILES_PER_DIRECTORY = 500
MTIME = 1_700_000_000
GZIP_LEVEL = 6


class HashingWriter(io.RawIOBase):
    """A write-only file that passes bytes on and hashes them with sha256."""

    def __init__(self, target):
        self.target = target
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self):
        return True

    def write(self, data):
        self.target.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="directory to create (must not exist yet)")
    parser.add_argument("--files", type=int, required=True, help="file entries in all layers")
    parser.add_argument("--layers", type=int, default=20, help="number of layers (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    arguments = parser.parse_args()
    if arguments.files < arguments.layers or arguments.layers < 1:
        parser.error("--files must be at least --layers, and --layers at least 1")
    return arguments


def tar_info(name, kind, mode, size=0, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.linkname = link
    info.mtime = MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def add_directory(archive, name, mode=0o755):
    archive.addfile(tar_info(name, tarfile.DIRTYPE, mode))


def add_file(archive, name, data, mode=0o644):
    archive.addfile(tar_info(name, tarfile.REGTYPE, mode, len(data)), io.BytesIO(data))


def write_layer(archive, layer, file_count, randomness, pool):
    """Write one layer's entries and return the regular file paths it added."""
    top = f"data/l{layer:02d}"
    add_directory(archive, "data")
    add_directory(archive, top)
    paths = []
    for index in range(file_count):
        directory = f"{top}/d{index // FILES_PER_DIRECTORY:04d}"
        if index % FILES_PER_DIRECTORY == 0:
            add_directory(archive, directory)
        name = f"{directory}/f{index:07d}"
        size = randomness.randrange(1024)
        offset = randomness.randrange(len(pool) - size)
        data = pool[offset : offset + size]

        special = index % 1000
        if special == 1:
            add_file(archive, name, data, 0o4755)
        elif special == 2:
            add_file(archive, name, data, 0o2755)
        elif special == 3:
            add_file(archive, name, data, 0o666)
        elif special == 4:
            archive.addfile(tar_info(name + ".tmp", tarfile.DIRTYPE, 0o777))
            add_file(archive, name, data)
        elif special == 5 and paths:
            archive.addfile(tar_info(name, tarfile.SYMTYPE, 0o777, link="/" + paths[-1]))
            continue
        elif special == 6 and paths:
            archive.addfile(tar_info(name, tarfile.LNKTYPE, 0o644, link=paths[-1]))
            continue
        else:
            add_file(archive, name, data)
        paths.append(name)
    return paths


def write_whiteouts(archive, layer, previous_paths, randomness):
    """Delete about 1% of the previous layer's files and make one directory opaque."""
    if not previous_paths:
        return
    deleted = randomness.sample(previous_paths, max(1, len(previous_paths) // 100))
    for path in sorted(deleted):
        directory, name = path.rsplit("/", 1)
        add_file(archive, f"{directory}/.wh.{name}", b"")
    opaque = previous_paths[0].rsplit("/", 1)[0]
    add_file(archive, f"{opaque}/.wh..wh..opq", b"")
    add_file(archive, f"{opaque}/after-opaque-l{layer:02d}", b"replaced\n")


def build_layers(arguments, workdir):
    """Write every layer as an uncompressed tar under WORKDIR.

    Returns (path, diff_id) of each layer in order.
    """
    randomness = random.Random(arguments.seed)
    pool = bytes(randomness.getrandbits(8) % 64 + 48 for _ in range(1 << 16))
    per_layer = arguments.files // arguments.layers
    layers = []
    previous_paths = []
    for layer in range(arguments.layers):
        path = os.path.join(workdir, f"layer{layer:02d}.tar")
        with open(path, "wb") as raw:
            hashing = HashingWriter(raw)
            with tarfile.open(fileobj=hashing, mode="w|", format=tarfile.GNU_FORMAT) as archive:
                write_whiteouts(archive, layer, previous_paths, randomness)
                previous_paths = write_layer(archive, layer, per_layer, randomness, pool)
        layers.append((path, "sha256:" + hashing.sha256.hexdigest()))
        print(f"layer {layer + 1}/{arguments.layers}: {per_layer} files", file=sys.stderr)
    return layers


def write_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as blob:
        blob.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def compress_layer(layout, path):
    """Gzip one layer tar into the layout's blobs and return its descriptor."""
    temporary = os.path.join(layout, "blobs", "sha256", "partial")
    with open(path, "rb") as source, open(temporary, "wb") as raw:
        hashing = HashingWriter(raw)
        with gzip.GzipFile(fileobj=hashing, mode="wb", compresslevel=GZIP_LEVEL, mtime=0) as packed:
            shutil.copyfileobj(source, packed, 1 << 20)
    digest = hashing.sha256.hexdigest()
    os.rename(temporary, os.path.join(layout, "blobs", "sha256", digest))
    return {
        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
        "digest": "sha256:" + digest,
        "size": hashing.size,
    }


def image_config(arguments, layers):
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"], "User": "0:0"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id for _, diff_id in layers]},
        "history": [
            # Trivy parses created_by as a Dockerfile instruction.
            {"created_by": f"ADD l{index:02d} /data/l{index:02d}/ # buildkit"}
            for index in range(len(layers))
        ],
    }


def write_oci_layout(layout, config_bytes, layers):
    os.makedirs(os.path.join(layout, "blobs", "sha256"))
    with open(os.path.join(layout, "oci-layout"), "w") as marker:
        json.dump({"imageLayoutVersion": "1.0.0"}, marker)

    config = write_blob(layout, config_bytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [compress_layer(layout, path) for path, _ in layers],
    }
    manifest_descriptor = write_blob(layout, json.dumps(manifest).encode())
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **manifest_descriptor,
                "annotations": {"org.opencontainers.image.ref.name": "latest"},
            }
        ],
    }
    with open(os.path.join(layout, "index.json"), "w") as index_file:
        json.dump(index, index_file)


def write_docker_archive(path, config_bytes, layers, tag):
    """Write a docker-archive in the layout `docker save` used before Docker 25."""
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_names = [diff_id.split(":", 1)[1] + "/layer.tar" for _, diff_id in layers]
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": layer_names}]
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as archive:
        add_file(archive, config_name, config_bytes)
        for (layer_path, _), name in zip(layers, layer_names):
            add_directory(archive, name.split("/", 1)[0])
            info = tar_info(name, tarfile.REGTYPE, 0o644, os.path.getsize(layer_path))
            with open(layer_path, "rb") as layer:
                archive.addfile(info, layer)
        add_file(archive, "manifest.json", json.dumps(manifest).encode())


def main():
    arguments = parse_arguments()
    output = arguments.output
    os.makedirs(output)
    workdir = os.path.join(output, "layers.partial")
    os.makedirs(workdir)

    layers = build_layers(arguments, workdir)
    config_bytes = json.dumps(image_config(arguments, layers), sort_keys=True).encode()
    write_oci_layout(os.path.join(output, "oci"), config_bytes, layers)
    tag = f"localhost/hardfs-bench/synthetic-{arguments.files}:latest"
    write_docker_archive(os.path.join(output, "docker-archive.tar"), config_bytes, layers, tag)
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
