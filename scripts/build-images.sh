#!/usr/bin/env bash
# Builds the real container images that the tests and benchmarks read, and
# exports each one in every transport hardfs reads.
#
# Usage: scripts/build-images.sh [--force] [--with-big]
#   --force     rebuild and re-export every image, even when its inputs did
#               not change
#   --with-big  also build "big" (about 1 GB, for benchmarks only)
#
# Images, all in podman's root storage:
#   localhost/hardfs-test/debian:bookworm   mmdebstrap minbase root filesystem
#   localhost/hardfs-test/NAME:latest       tests/images/NAME/Containerfile
#
# Exports, under .cache/test-images/NAME/:
#   docker-archive.tar  docker-archive with uncompressed layers
#   oci/                OCI image layout, gzip layers, ref name "latest"
#   oci-archive.tar     the same OCI layout as one tar
#   oci-zstd/           OCI image layout with zstd layers (nginx only)
#
# .cache/test-images/images.json describes every image of this run:
#   {"images": {"NAME": {"reference": "localhost/hardfs-test/NAME:latest",
#     "image_id": "sha256:...", "config_user": "", "ref_name": "latest",
#     "exports": {"docker-archive": "/abs/path/docker-archive.tar",
#                 "oci": "/abs/path/oci", "oci-archive": "...",
#                 "oci-zstd": "..."}}}}
# image_id is the digest of the image config, the same in every export.
#
# An image is rebuilt only when its inputs changed: the base when its
# recipe below changed, any other image when its Containerfile or the base
# image changed. The input digest is kept in the image label
# org.hardfs.test.inputs. An export is redone only when the image id
# differs from the one recorded beside the export.

set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IMAGES_DIR="$CACHE_DIR/test-images"
CONTAINERFILES_DIR="$REPO_ROOT/tests/images"
IMAGE_PREFIX="localhost/hardfs-test"
BASE_REF="$IMAGE_PREFIX/debian:bookworm"
INPUTS_LABEL="org.hardfs.test.inputs"
# The apt sources of the base image, with updates and security fixes.
DEBIAN_SOURCES=(
    "deb http://deb.debian.org/debian bookworm main"
    "deb http://deb.debian.org/debian bookworm-updates main"
    "deb http://deb.debian.org/debian-security bookworm-security main"
)

# Changing any word here changes the base image's input digest, and so
# rebuilds every image.
BASE_RECIPE="mmdebstrap --variant=minbase bookworm ${DEBIAN_SOURCES[*]}; CMD bash"

# Bump to redo every export when the export commands below change.
EXPORT_RECIPE_VERSION=1

# Images built from tests/images/NAME, in build order.
TEST_IMAGES=(nginx redis postgres appuser)

force=0
with_big=0

usage() {
    sed -n '5,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

parse_arguments() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --force) force=1 ;;
            --with-big) with_big=1 ;;
            -h | --help)
                usage
                exit 0
                ;;
            *)
                usage >&2
                die "unknown argument: $1"
                ;;
        esac
        shift
    done
}

sha256_of_text() {
    printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

image_id() {
    podman image inspect --format '{{.Id}}' "$1"
}

image_inputs_label() {
    podman image inspect --format "{{index .Labels \"$INPUTS_LABEL\"}}" "$1" 2>/dev/null || true
}

# True when REF exists and was built from inputs with digest DIGEST.
image_is_current() {
    local ref="$1" digest="$2"
    [ "$force" -eq 0 ] \
        && podman image exists "$ref" \
        && [ "$(image_inputs_label "$ref")" = "$digest" ]
}

# Removes the image that a rebuild replaced, by id, so that rebuilds do not
# pile up untagged images. Leaves it alone while a container still uses it.
remove_replaced_image() {
    local old_id="$1" ref="$2"
    if [ -z "$old_id" ] || [ "$old_id" = "$(image_id "$ref")" ]; then
        return 0
    fi
    podman image rm "$old_id" >/dev/null 2>&1 \
        || log "kept replaced image $old_id of $ref: still in use"
}

build_base() {
    local digest old_id="" workdir
    digest="$(sha256_of_text "$BASE_RECIPE")"
    if image_is_current "$BASE_REF" "$digest"; then
        log "$BASE_REF is up to date"
        return 0
    fi
    if podman image exists "$BASE_REF"; then
        old_id="$(image_id "$BASE_REF")"
    fi

    mkdir -p "$IMAGES_DIR"
    workdir="$(mktemp -d "$IMAGES_DIR/base.XXXXXX")"
    log "building $BASE_REF with mmdebstrap"
    mmdebstrap --quiet --variant=minbase bookworm "$workdir/rootfs.tar" \
        "${DEBIAN_SOURCES[@]}" </dev/null
    podman import --quiet \
        --change 'CMD ["bash"]' \
        --change "LABEL $INPUTS_LABEL=$digest" \
        "$workdir/rootfs.tar" "$BASE_REF" >/dev/null
    rm -rf "$workdir"

    remove_replaced_image "$old_id" "$BASE_REF"
}

# Prints the digest of everything a test image is built from: its build
# context and the base image id.
test_image_inputs_digest() {
    local name="$1" context="$CONTAINERFILES_DIR/$1"
    {
        image_id "$BASE_REF"
        (cd "$context" && find . -type f -print0 | LC_ALL=C sort -z \
            | xargs -0 sha256sum)
    } | sha256sum | cut -d' ' -f1
}

build_test_image() {
    local name="$1" ref="$IMAGE_PREFIX/$1:latest" digest old_id=""
    [ -f "$CONTAINERFILES_DIR/$name/Containerfile" ] \
        || die "missing Containerfile: $CONTAINERFILES_DIR/$name/Containerfile"
    digest="$(test_image_inputs_digest "$name")"
    if image_is_current "$ref" "$digest"; then
        log "$ref is up to date"
        return 0
    fi
    if podman image exists "$ref"; then
        old_id="$(image_id "$ref")"
    fi

    log "building $ref"
    podman build --quiet --network host --pull=never \
        --label "$INPUTS_LABEL=$digest" \
        --file "$CONTAINERFILES_DIR/$name/Containerfile" \
        --tag "$ref" "$CONTAINERFILES_DIR/$name" >/dev/null

    remove_replaced_image "$old_id" "$ref"
}

# Writes the exports of NAME into a temporary directory, then swaps it in,
# so an interrupted run never leaves a half-written export that looks done.
export_image() {
    local name="$1" ref="$2" output="$IMAGES_DIR/$1" id stamp staging
    id="$(image_id "$ref")"
    stamp="$id export-recipe-$EXPORT_RECIPE_VERSION"
    if [ "$force" -eq 0 ] && [ -f "$output/exported-from" ] \
        && [ "$(cat "$output/exported-from")" = "$stamp" ]; then
        log "exports of $ref are up to date"
        return 0
    fi

    log "exporting $ref"
    staging="$(mktemp -d "$IMAGES_DIR/$name.staging.XXXXXX")"
    skopeo copy --quiet "containers-storage:$ref" \
        "docker-archive:$staging/docker-archive.tar:$ref"
    skopeo copy --quiet --dest-compress-format gzip "containers-storage:$ref" \
        "oci:$staging/oci:latest"
    # From the gzip layout, so the archive contains the very same blobs.
    skopeo copy --quiet "oci:$staging/oci:latest" \
        "oci-archive:$staging/oci-archive.tar:latest"
    if [ "$name" = nginx ]; then
        skopeo copy --quiet --dest-compress-format zstd \
            "containers-storage:$ref" "oci:$staging/oci-zstd:latest"
    fi
    check_layer_media_types "$staging/oci" gzip
    if [ -d "$staging/oci-zstd" ]; then
        check_layer_media_types "$staging/oci-zstd" zstd
    fi
    printf '%s\n' "$stamp" >"$staging/exported-from"

    rm -rf "$output"
    mv "$staging" "$output"
}

# Fails unless every layer in the OCI layout at DIR has the media type
# suffix COMPRESSION, because skopeo's choice of compression depends on its
# version and the source.
check_layer_media_types() {
    local layout="$1" compression="$2" manifest_digest media_types
    manifest_digest="$(jq -r '.manifests[0].digest' "$layout/index.json")"
    media_types="$(jq -r '.layers[].mediaType' \
        "$layout/blobs/sha256/${manifest_digest#sha256:}")"
    if printf '%s\n' "$media_types" | grep -qv "+$compression\$"; then
        die "$layout: expected $compression layers, got: $(echo $media_types)"
    fi
}

# Prints the images.json entry for NAME.
describe_image() {
    local name="$1" ref="$2" output="$IMAGES_DIR/$1"
    jq -n \
        --arg reference "$ref" \
        --arg image_id "sha256:$(image_id "$ref")" \
        --arg config_user "$(podman image inspect --format '{{.Config.User}}' "$ref")" \
        --arg output "$output" \
        '{reference: $reference, image_id: $image_id,
          config_user: $config_user, ref_name: "latest",
          exports: {
            "docker-archive": ($output + "/docker-archive.tar"),
            oci: ($output + "/oci"),
            "oci-archive": ($output + "/oci-archive.tar")}}' \
        | if [ -d "$output/oci-zstd" ]; then
            jq --arg path "$output/oci-zstd" '.exports["oci-zstd"] = $path'
        else
            cat
        fi
}

write_images_json() {
    local names=("$@") name entries="{}" ref
    for name in "${names[@]}"; do
        ref="$(reference_of "$name")"
        entries="$(jq --arg name "$name" --argjson entry "$(describe_image "$name" "$ref")" \
            '.[$name] = $entry' <<<"$entries")"
    done
    jq '{images: .}' <<<"$entries" >"$IMAGES_DIR/images.json.tmp"
    mv "$IMAGES_DIR/images.json.tmp" "$IMAGES_DIR/images.json"
    log "wrote $IMAGES_DIR/images.json"
}

reference_of() {
    if [ "$1" = debian ]; then
        printf '%s\n' "$BASE_REF"
    else
        printf '%s\n' "$IMAGE_PREFIX/$1:latest"
    fi
}

main() {
    parse_arguments "$@"
    ensure_packages "${IMAGE_TOOL_PACKAGES[@]}"
    mkdir -p "$IMAGES_DIR"

    # Tests and benchmarks may start this script at the same time.
    exec 9>"$IMAGES_DIR/.lock"
    flock 9

    local names=(debian "${TEST_IMAGES[@]}")
    # A run without --with-big keeps big in images.json when it was built
    # before, so a test run does not hide it from the benchmarks.
    if [ "$with_big" -eq 1 ] || podman image exists "$(reference_of big)"; then
        names+=(big)
    fi

    build_base
    local name
    for name in "${names[@]}"; do
        if [ "$name" != debian ]; then
            build_test_image "$name"
        fi
        export_image "$name" "$(reference_of "$name")"
    done
    write_images_json "${names[@]}"
}

main "$@"
